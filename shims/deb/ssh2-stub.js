// Bundled in place of ssh2 in the single executable: docker-cri talks to Docker over unix and tcp
// only, and ssh2 would bring native optional parts (cpu-features) a single executable cannot load.
class Client {
  constructor() {
    throw new Error('ssh:// Docker endpoints are not supported by docker-cri');
  }
}
module.exports = { Client };
