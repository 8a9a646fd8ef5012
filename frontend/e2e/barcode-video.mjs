// @ts-check
// A camera picture for the browser test: Chromium's fake camera plays a Y4M file
// (--use-file-for-fake-video-capture), and this one shows an EAN-13 barcode, black
// bars on white, drawn from the standard's encoding tables. Pure data, no
// image libraries.

import { writeFileSync } from 'node:fs';

const L = ['0001101', '0011001', '0010011', '0111101', '0100011', '0110001', '0101111', '0111011', '0110111', '0001011'];
const G = ['0100111', '0110011', '0011011', '0100001', '0011101', '0111001', '0000101', '0010001', '0001001', '0010111'];
const R = ['1110010', '1100110', '1101100', '1000010', '1011100', '1001110', '1010000', '1000100', '1001000', '1110100'];
const PARITY = ['LLLLLL', 'LLGLGG', 'LLGGLG', 'LLGGGL', 'LGLLGG', 'LGGLLG', 'LGGGLL', 'LGLGLG', 'LGLGGL', 'LGGLGL'];

/** The 13th digit of an EAN-13 whose first 12 digits are `twelve`. @param {string} twelve */
export function ean13CheckDigit(twelve) {
  const sum = [...twelve].reduce((acc, d, i) => acc + Number(d) * (i % 2 === 0 ? 1 : 3), 0);
  return String((10 - (sum % 10)) % 10);
}

/** The 95 modules of an EAN-13 (1 = bar). @param {string} code 13 digits */
export function ean13Modules(code) {
  if (!/^\d{13}$/.test(code) || ean13CheckDigit(code.slice(0, 12)) !== code[12]) {
    throw new Error(`not a valid EAN-13: ${code}`);
  }
  const digits = [...code].map(Number);
  const parity = PARITY[digits[0] ?? 0] ?? '';
  let bits = '101';
  for (let i = 1; i <= 6; i += 1) bits += (parity[i - 1] === 'L' ? L : G)[digits[i] ?? 0];
  bits += '01010';
  for (let i = 7; i <= 12; i += 1) bits += R[digits[i] ?? 0];
  return `${bits}101`;
}

/**
 * Writes a Y4M video (4:2:0, a few identical frames) of the barcode centred on white.
 * @param {string} code @param {string} path
 */
export function writeEan13Video(code, path, width = 640, height = 480) {
  const modules = ean13Modules(code);
  const moduleWidth = 4;
  const left = Math.floor((width - modules.length * moduleWidth) / 2);
  const top = Math.floor(height * 0.2);
  const bottom = Math.floor(height * 0.8);
  const luma = Buffer.alloc(width * height, 235);
  for (let y = top; y < bottom; y += 1) {
    for (let m = 0; m < modules.length; m += 1) {
      if (modules[m] !== '1') continue;
      luma.fill(16, y * width + left + m * moduleWidth, y * width + left + (m + 1) * moduleWidth);
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2), 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma, chroma]);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
  writeFileSync(path, Buffer.concat([header, frame, frame, frame]));
}
