// Bundled in place of @grpc/grpc-js and @grpc/proto-loader in the single executable. dockerode
// requires both at start for BuildKit sessions, which only image builds open; docker-cri builds no
// image and serves gRPC over node:http2 itself (src/grpc/h2-server.ts). Any use says so.
module.exports = new Proxy(
  {},
  {
    get(_target, key) {
      if (typeof key === 'symbol' || key === '__esModule' || key === 'default' || key === 'then')
        return undefined;
      throw new Error(`${String(key)}: BuildKit sessions (image builds) are not supported by docker-cri`);
    },
  },
);
