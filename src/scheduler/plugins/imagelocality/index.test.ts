import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeInfo } from '../../framework/nodeinfo.js';
import { newNode, newPod, runScore, testHandle } from '../../testing.js';
import { ImageLocality, normalizedImageName } from './index.js';

const MB = 1024 * 1024;

test('normalizedImageName adds :latest only when there is no tag', () => {
  for (const [img, want] of [['nginx', 'nginx:latest'], ['nginx:1.25', 'nginx:1.25'], ['localhost:5000/app', 'localhost:5000/app:latest'], ['a/b@sha256:abc', 'a/b@sha256:abc']]) {
    assert.equal(normalizedImageName(img!), want);
  }
});

test('ImageLocality prefers nodes holding large images, scaled by their spread', () => {
  const withImage = (name: string, images: { names: string[]; sizeBytes: number }[], numNodes: number) => {
    const ni = new NodeInfo(newNode(name, { images }));
    for (const img of images) for (const n of img.names) ni.imageStates.set(n, { size: img.sizeBytes, numNodes });
    return ni;
  };
  const nodes = [
    withImage('has-big', [{ names: ['app:1'], sizeBytes: 500 * MB }], 1),
    withImage('has-small', [{ names: ['app:1'], sizeBytes: 10 * MB }], 1),
    withImage('none', [], 0),
    withImage('other', [], 0),
  ];
  const got = runScore(new ImageLocality(testHandle(nodes)), newPod('p', { image: 'app:1' }), nodes);
  // 500 MB × 1/4 nodes = 125 MB → 100 × (125 − 23) / (1000 − 23) = 10.
  assert.deepEqual(got, { 'has-big': 10, 'has-small': 0, none: 0, other: 0 });
});
