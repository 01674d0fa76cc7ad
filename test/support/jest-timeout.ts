// A project-level testTimeout is not applied by jest; integration tests wait on real containers.
jest.setTimeout(120_000);
