// Ordered end-to-end steps for node:test: each step builds on the state the earlier ones
// left, so after a failure the rest are skipped (not piled on), and `onFail` records what
// the failure looked like (screenshots, stats) before the error is reported.

import { test } from 'node:test';

/** `const step = stepper(() => h.shot('failed'))`, then `step('name', async (t) => …)`. */
export function stepper(onFail) {
    let broken = null;
    return (name, fn) => test(name, async (t) => {
        if (broken) { t.skip(`skipped: earlier step failed (${broken})`); return; }
        try {
            await fn(t);
        } catch (e) {
            broken = name;
            await onFail?.();
            throw e;
        }
    });
}
