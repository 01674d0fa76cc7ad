/**
 * Shapes of the CNI specification (0.3/0.4/1.0) as docker-cri uses them. Plugin configurations are
 * kept as plain JSON objects: a plugin may carry any field, and we hand each one back untouched.
 */
export type JsonObject = { [key: string]: unknown };

/** One plugin entry of a network configuration list (or a whole single-plugin `.conf`). */
export interface PluginConf extends JsonObject {
  type: string;
  capabilities?: Record<string, boolean>;
}

/** A network configuration list, normalized: a `.conf` becomes a list of one plugin. */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
  /** The file it came from, for messages. */
  source: string;
  /** The exact bytes that were parsed, so DEL can use the configuration ADD used. */
  bytes: string;
}

/** Port mapping in the portMappings capability's shape (CNI CONVENTIONS). */
export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

/** Traffic shaping in the bandwidth capability's shape: rates in bits/s, bursts in bits. */
export interface CniBandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

export interface CniIpRange {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export interface CniDns {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

/** Values for the well-known capabilities; only those a plugin asks for reach it. */
export interface CapabilityArgs {
  portMappings?: CniPortMapping[];
  bandwidth?: CniBandwidth;
  ipRanges?: CniIpRange[][];
  dns?: CniDns;
}

/** Everything a plugin call needs besides the configuration. */
export interface RuntimeConf {
  containerId: string;
  /** Path of the network namespace; may be empty on DEL when the namespace is gone. */
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs, in order. */
  args: Array<[string, string]>;
  capabilityArgs: CapabilityArgs;
}

/** A parsed ADD result, normalized to the 0.3+ shape whatever version the plugin answered. */
export interface CniResult {
  cniVersion: string;
  interfaces: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips: Array<{ address: string; gateway?: string; interface?: number }>;
  routes: Array<{ dst: string; gw?: string }>;
  dns: CniDns;
  /** The plugin's JSON as it came, passed on as prevResult. */
  raw: JsonObject;
}
