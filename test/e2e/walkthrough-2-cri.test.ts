/**
 * The seeds' journey (the study notes of a Kubernetes course in ../shared/seeds), part 2
 * (part 1 is walkthrough-cri.test.ts), replayed with the real kubectl against
 * `flotilla up --runtime cri`: the course's Deployment (its mismatched selector refused in
 * Kubernetes' words, then fixed), `get all`, rollout status/history/undo, the NodePort
 * service on 30008 answered by curl, and namespaces. docker.io is mirrored to a local
 * registry holding a busybox-built nginx, so `image: nginx` with its default pull policy
 * (Always) pulls as it would from Docker Hub, with no network. Every expectation is what a
 * real cluster prints. The steps live in test/util/walkthrough-steps.ts
 * (walkthrough-simulated.test.ts runs them too).
 */
import { describeWalkthroughPart } from '../util/walkthrough-steps.js';

describeWalkthroughPart(2, 'Deployment, NodePort service, namespaces');
