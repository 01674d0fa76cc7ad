import * as protobuf from 'protobufjs';

/**
 * The wire-relevant facts of a .proto file as sorted one-line strings: every message field (number,
 * type, label, map key, oneof, options), enum value, service method (types and streaming flags)
 * and reserved range. Two files with equal fact lists are wire-identical, whatever their comments
 * say, so a small list of these lines (written by `node dist/test/support/proto-facts.js FILE`)
 * is all a test needs to check our proto against an upstream version.
 */
export function protoFacts(file: string): string[] {
  const root = new protobuf.Root().loadSync(file, { keepCase: true, alternateCommentMode: false });
  root.resolveAll();
  const out: string[] = [];
  const opts = (o: Record<string, unknown> | undefined): string =>
    o && Object.keys(o).length
      ? ' [' +
        Object.keys(o)
          .sort()
          .map((k) => `${k}=${String(o[k])}`)
          .join(',') +
        ']'
      : '';
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const obj of ns.nestedArray) {
      const name = obj.fullName.replace(/^\./, '');
      if (obj instanceof protobuf.Type) {
        out.push(`message ${name}${opts(obj.options)}`);
        for (const f of obj.fieldsArray) {
          const label =
            f instanceof protobuf.MapField ? `map<${f.keyType}>` : f.repeated ? 'repeated' : 'singular';
          const type = f.resolvedType ? f.resolvedType.fullName.replace(/^\./, '') : f.type;
          const oneof = f.partOf ? ` oneof=${f.partOf.name}` : '';
          const fieldOpts = { ...(f.options ?? {}) };
          // protobufjs records proto3's implicit packing of repeated scalars as an option; the wire
          // format is the same either way, so only explicit options are compared.
          delete fieldOpts.packed;
          out.push(`field ${name}.${f.name} = ${f.id} ${label} ${type}${oneof}${opts(fieldOpts)}`);
        }
        for (const r of obj.reserved ?? []) out.push(`reserved ${name} ${JSON.stringify(r)}`);
      } else if (obj instanceof protobuf.Enum) {
        out.push(`enum ${name}${opts(obj.options)}`);
        for (const [k, v] of Object.entries(obj.values)) out.push(`value ${name}.${k} = ${v}`);
      } else if (obj instanceof protobuf.Service) {
        out.push(`service ${name}`);
        for (const m of obj.methodsArray) {
          const req = (m.resolvedRequestType?.fullName ?? m.requestType).replace(/^\./, '');
          const res = (m.resolvedResponseType?.fullName ?? m.responseType).replace(/^\./, '');
          const s = (b: boolean | undefined): string => (b ? 'stream ' : '');
          out.push(
            `rpc ${name}.${m.name}(${s(m.requestStream)}${req}) returns (${s(m.responseStream)}${res})`,
          );
        }
      } else if (obj instanceof protobuf.Namespace) {
        out.push(`package ${name}${opts(obj.options)}`);
      }
      if (obj instanceof protobuf.Namespace) walk(obj);
    }
  };
  walk(root);
  return out.sort();
}

/** Lines in one list and not the other, each prefixed with the side it is on. */
export function factDiff(ours: string[], theirs: string[]): string[] {
  const a = new Set(ours);
  const b = new Set(theirs);
  return [
    ...ours.filter((l) => !b.has(l)).map((l) => `- ours:   ${l}`),
    ...theirs.filter((l) => !a.has(l)).map((l) => `+ theirs: ${l}`),
  ];
}

if (require.main === module) {
  const [file, other] = process.argv.slice(2);
  if (!file) {
    process.stderr.write(
      'usage: proto-facts FILE [OTHER]  (one file: print its facts; two: print the differences)\n',
    );
    process.exit(2);
  }
  const lines = other ? factDiff(protoFacts(file), protoFacts(other)) : protoFacts(file);
  process.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''));
  if (other) process.stderr.write(`${lines.length} differences\n`);
}
