#!/usr/bin/env node
/**
 * Draws the extension's icons (extension/public/icons/icon-<size>.png): a padlock on the popup's
 * blue, in a rounded square. Deterministic; run `node scripts/icons.mjs` after a change
 * and commit the PNGs. No image library: shapes are sampled 4×4 per pixel and written as
 * an RGBA PNG with node:zlib.
 */
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const BLUE = [43, 91, 168];
const WHITE = [255, 255, 255];

/** Coverage of the shapes at (x, y) in a unit square: "bg", "lock" or null. */
function shape(x, y) {
  // Rounded square, corner radius 0.2.
  const r = 0.2;
  const dx = Math.max(r - x, 0, x - (1 - r));
  const dy = Math.max(r - y, 0, y - (1 - r));
  if (dx * dx + dy * dy > r * r) return null;
  // Padlock body: a rounded rectangle.
  const inBody = x >= 0.26 && x <= 0.74 && y >= 0.46 && y <= 0.8;
  // Shackle: a ring (outer 0.19, inner 0.11) above the body, centred at (0.5, 0.46).
  const sx = x - 0.5;
  const sy = y - 0.46;
  const d = Math.hypot(sx, sy);
  const inShackle = d <= 0.19 && d >= 0.11 && y <= 0.46;
  const inLegs = y > 0.36 && y <= 0.46 && Math.abs(sx) >= 0.11 && Math.abs(sx) <= 0.19;
  // Keyhole, cut out of the body.
  const kh =
    Math.hypot(x - 0.5, y - 0.6) <= 0.055 || (Math.abs(x - 0.5) <= 0.025 && y >= 0.6 && y <= 0.7);
  if ((inBody && !kh) || inShackle || inLegs) return "lock";
  return "bg";
}

function png(size) {
  const row = size * 4 + 1;
  const raw = Buffer.alloc(row * size);
  const S = 4;
  for (let py = 0; py < size; py++) {
    raw[py * row] = 0; // filter: none
    for (let px = 0; px < size; px++) {
      let bg = 0;
      let lock = 0;
      for (let i = 0; i < S; i++)
        for (let j = 0; j < S; j++) {
          const s = shape((px + (i + 0.5) / S) / size, (py + (j + 0.5) / S) / size);
          if (s === "bg") bg++;
          else if (s === "lock") lock++;
        }
      const a = (bg + lock) / (S * S);
      const o = py * row + 1 + px * 4;
      for (let c = 0; c < 3; c++)
        raw[o + c] = a === 0 ? 0 : Math.round((BLUE[c] * bg + WHITE[c] * lock) / (bg + lock));
      raw[o + 3] = Math.round(a * 255);
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

for (const size of [16, 32, 48, 128]) {
  writeFileSync(new URL(`../extension/public/icons/icon-${size}.png`, import.meta.url), png(size));
}
