// Registers resolve-hooks.mjs: `node --import ./register-hooks.mjs client-test.mjs`.
import { register } from 'node:module';

register('./resolve-hooks.mjs', import.meta.url);
