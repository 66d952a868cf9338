// Preloaded by `deno task test:reference` (deno test --preload): every test module, and every
// documentation block, then runs on the reference backend, so the whole suite (PyTorch fixtures,
// finite differences, properties, the MNIST runs) checks the readable path too.
import { setBackend } from "../backend.ts";

setBackend("reference");
