import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../helpers/fixtures.js';

/** Rendered manifests are read as plain JSON; the schema validation below is what types them. */
type Json = any;

/** One rendered Kubernetes object. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Json;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
}

export const OVERLAYS = ['single-node', 'production'] as const;

/** `kubectl kustomize <dir>`: the YAML an `apply -k` would send. Fails with kubectl's stderr. */
export function kustomize(directory: string): string {
  const result = spawnSync('kubectl', ['kustomize', path.join(repoRoot, directory)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`cannot run kubectl: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`kubectl kustomize ${directory} failed (exit ${result.status}):\n${result.stderr}`);
  return result.stdout;
}

export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text).map((document, index) => {
    if (document.errors.length) throw new Error(`document ${index}: ${document.errors.map((error) => error.message).join('; ')}`);
    return document.toJS() as KubeObject;
  }).filter((object) => object !== null);
}

/**
 * Where the model class of an apiVersion lives: the built-in API groups in kubernetes-models,
 * the CRDs hikhub uses in their own packages. Anything else is unknown, and a failure.
 */
function modelModule(apiVersion: string): string | undefined {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  if (apiVersion.startsWith('keda.sh/')) return `@kubernetes-models/keda/${apiVersion}`;
  const builtIn = /^(v1|(apps|batch|policy|autoscaling|networking\.k8s\.io|rbac\.authorization\.k8s\.io|storage\.k8s\.io)\/v\d+(beta\d+|alpha\d+)?)$/;
  return builtIn.test(apiVersion) ? `kubernetes-models/${apiVersion}` : undefined;
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** Validate against the OpenAPI schema of the object's kind; returns a problem, or undefined. */
export async function schemaProblem(object: KubeObject): Promise<string | undefined> {
  const label = `${object.kind}/${object.metadata?.name} (${object.apiVersion})`;
  const specifier = modelModule(object.apiVersion);
  if (!specifier) return `${label}: unknown apiVersion, no schema to validate against`;
  let models: Record<string, unknown>;
  try {
    models = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    return `${label}: no model package ${specifier} (${(error as Error).message})`;
  }
  const model = models[object.kind] as ModelClass | undefined;
  if (typeof model !== 'function') return `${label}: unknown kind in ${specifier}`;
  try {
    new model(object).validate();
    return undefined;
  } catch (error) {
    return `${label}: ${(error as Error).message}`;
  }
}

/** Pod templates of the workload kinds, with the object they belong to. */
export interface PodTemplateOf {
  owner: KubeObject;
  labels: Record<string, string>;
  spec: Json;
}

export function podTemplates(objects: KubeObject[]): PodTemplateOf[] {
  return objects
    .filter((object) => ['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(object.kind))
    .map((owner) => ({ owner, labels: owner.spec.template.metadata?.labels ?? {}, spec: owner.spec.template.spec }));
}

/** matchLabels semantics (hikhub's manifests use no matchExpressions; a selector with them fails the test that calls this). */
export function selects(selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  if (selector.matchExpressions?.length) throw new Error('matchExpressions are not evaluated by these tests');
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

export const byKind = (objects: KubeObject[], kind: string): KubeObject[] => objects.filter((object) => object.kind === kind);

export function named(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name}`);
  return found;
}
