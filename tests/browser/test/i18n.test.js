// The web app's strings (webapp-static/assets/i18n.js): every English key has a German
// translation, German has no keys English lacks, and both use the same {slots}.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// i18n.js picks a language at import time from the browser's; give it one
globalThis.navigator ??= { languages: ['en'] };
const { strings, t, lang } = await import(pathToFileURL(path.join(REPO, 'webapp-static/assets/i18n.js')).href);

const slots = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every English string has a German translation with the same slots', () => {
    const { en, de } = strings;
    const missing = Object.keys(en).filter((k) => !(k in de));
    assert.deepEqual(missing, [], `keys without German: ${missing.join(', ')}`);
    const extra = Object.keys(de).filter((k) => !(k in en));
    assert.deepEqual(extra, [], `German keys English lacks: ${extra.join(', ')}`);
    const slotDiff = Object.keys(en).filter((k) => JSON.stringify(slots(en[k])) !== JSON.stringify(slots(de[k])));
    assert.deepEqual(slotDiff, [], `different {slots}: ${slotDiff.join(', ')}`);
    const empty = Object.keys(de).filter((k) => typeof de[k] !== 'string' || !de[k].trim());
    assert.deepEqual(empty, []);
});

test('t() fills slots in the picked language', () => {
    assert.equal(lang, 'en');
    assert.equal(t('status.joined', { name: 'Ann' }), 'Ann joined');
});
