// Bundled in place of optional native add-ons (ws's bufferutil, utf-8-validate) in the single
// executable: their users require them inside try/catch and fall back to plain JavaScript.
throw new Error('optional native module not bundled into the docker-cri executable');
