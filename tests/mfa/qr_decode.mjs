// qr_decode: read the enrollment page's QR code with an independent reader
// (jsQR), the way a phone's camera would: the SVG's module runs are painted
// into a bitmap and handed to the decoder.
//   node qr_decode.mjs MFA_TOOL TEXT   -> exit 0 if the QR code reads back as TEXT
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let jsQR;
try {
  jsQR = require('jsqr');
} catch {
  console.error('qr_decode: jsqr is not installed: run scripts/install-deps.sh test (npm ci in tests/mfa)');
  process.exit(1);
}

const [tool, text] = process.argv.slice(2);
const svg = execFileSync(tool, ['qr', text], { encoding: 'utf8' });
const size = Number(/viewBox="0 0 (\d+) (\d+)"/.exec(svg)?.[1]);
if (!size) {
  console.error('qr_decode: no viewBox in the SVG');
  process.exit(1);
}
const d = /<path fill="#000000" d="([^"]*)"/.exec(svg)?.[1] ?? '';
const scale = 4;
const px = size * scale;
const rgba = new Uint8ClampedArray(px * px * 4).fill(255);
let runs = 0;
for (const m of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-(\d+)z/g)) {
  const [x, y, w] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (Number(m[4]) !== w) throw new Error('malformed run');
  for (let yy = y * scale; yy < (y + 1) * scale; yy++)
    for (let xx = x * scale; xx < (x + w) * scale; xx++) {
      const i = (yy * px + xx) * 4;
      rgba[i] = rgba[i + 1] = rgba[i + 2] = 0;
    }
  runs++;
}
if (d.replace(/M\d+ \d+h\d+v1h-\d+z/g, '') !== '') {
  console.error('qr_decode: the path holds something other than module runs');
  process.exit(1);
}
const got = jsQR(rgba, px, px);
if (!got) {
  console.error(`qr_decode: no QR code found (${runs} runs, ${size} modules)`);
  process.exit(1);
}
if (got.data !== text) {
  console.error(`qr_decode: read ${JSON.stringify(got.data)}, want ${JSON.stringify(text)}`);
  process.exit(1);
}
console.log(`qr_decode: read back ${text.length} bytes from a ${size}-module code (version ${got.version})`);
