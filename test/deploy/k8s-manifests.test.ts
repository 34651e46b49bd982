import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { apiEnvSchema, archiverEnvSchema, ingestEnvSchema, migrateEnvSchema, provisionerEnvSchema } from '../../libs/config/env.js';
import { serviceCommands, isServiceName } from '../../tools/deploy/services.js';
import { repoRoot } from '../helpers/fixtures.js';
import { byKind, kustomize, named, OVERLAYS, parseObjects, podTemplates, schemaProblem, selects, type KubeObject, type PodTemplateOf } from './kubernetes-objects.js';

/**
 * Every overlay renders with kubectl's built-in kustomize, every object validates against the
 * Kubernetes (and prometheus-operator / KEDA) schemas, and the rendered manifests keep the
 * properties issue 5 asks for. Offline: no cluster is contacted.
 */

/** The image's unprivileged user (node:22-bookworm-slim's `node`), as the Dockerfile sets it. */
const IMAGE_UID = 1000;
const HIKHUB_COMPONENTS = ['ingest', 'archiver', 'provisioner', 'api'] as const;
const KNOWN_ENV = new Set(
  [ingestEnvSchema, archiverEnvSchema, provisionerEnvSchema, apiEnvSchema, migrateEnvSchema].flatMap((schema) => Object.keys(schema.shape)),
);
const example = parse(readFileSync(path.join(repoRoot, 'k8s/base/secret.example.yaml'), 'utf8')) as KubeObject;

const rendered = Object.fromEntries(OVERLAYS.map((overlay) => [overlay, parseObjects(kustomize(`k8s/overlays/${overlay}`))])) as Record<
  (typeof OVERLAYS)[number],
  KubeObject[]
>;

/**
 * REDIS_URL and DATABASE_URL as docs/operations.md has operators create the Secret for an overlay:
 * the `kubectl create secret` of "Try it on one node" (single-node) or of "Production".
 */
function documentedDatastoreUrls(overlay: (typeof OVERLAYS)[number]): Record<'REDIS_URL' | 'DATABASE_URL', string> {
  const operations = readFileSync(path.join(repoRoot, 'docs/operations.md'), 'utf8');
  const heading = overlay === 'production' ? /^#### Production$/m : /^#### Try it on one node/m;
  const start = heading.exec(operations)?.index;
  if (start === undefined) throw new Error(`docs/operations.md has no ${heading} section`);
  const command = operations.slice(operations.indexOf('create secret generic hikhub-secrets', start));
  const value = (key: string) => {
    const match = new RegExp(`--from-literal=${key}=(?:'([^']+)'|"([^"]+)"|(\\S+))`).exec(command);
    const found = match?.[1] ?? match?.[2] ?? match?.[3];
    if (!found) throw new Error(`docs/operations.md (${overlay}) creates no ${key}`);
    return found.replace(/\$PG_PASSWORD/g, 'password');
  };
  return { REDIS_URL: value('REDIS_URL'), DATABASE_URL: value('DATABASE_URL') };
}

const component = (template: PodTemplateOf): string | undefined => template.labels['app.kubernetes.io/component'];
const isHikhub = (template: PodTemplateOf): boolean => template.labels['app.kubernetes.io/name'] === 'hikhub';

/** A value that could be a working credential: anything but a marked placeholder or an empty string. */
function looksReal(key: string, value: string): boolean {
  if (/REPLACE_ME|CHANGE_ME|example/i.test(value) || value === '') return false;
  if (/_URL$/.test(key)) {
    try {
      const password = new URL(value).password;
      return password !== '' && !/REPLACE_ME/i.test(password);
    } catch {
      return true;
    }
  }
  return /TOKEN|KEY|SECRET|PASSWORD/i.test(key);
}

describe.each(OVERLAYS)('k8s overlay %s', (overlay) => {
  const objects = rendered[overlay];
  const templates = podTemplates(objects);
  const policies = byKind(objects, 'NetworkPolicy');

  it('renders every object in the hikhub namespace, each valid against its schema', async () => {
    expect(objects.length).toBeGreaterThan(20);
    const problems = (await Promise.all(objects.map((object) => schemaProblem(object)))).filter(Boolean);
    expect(problems).toEqual([]);
    const namespaced = objects.filter((object) => object.kind !== 'Namespace');
    expect(namespaced.filter((object) => object.metadata.namespace !== 'hikhub').map((object) => `${object.kind}/${object.metadata.name}`)).toEqual([]);
    expect(byKind(objects, 'Namespace').map((object) => object.metadata.name)).toEqual(['hikhub']);
  });

  it('runs the four services and the migration from the one image, each with its own command', () => {
    const hikhub = templates.filter(isHikhub);
    expect(hikhub.map(component).sort()).toEqual(['api', 'archiver', 'ingest', 'migrate', 'provisioner']);
    const images = new Set(hikhub.flatMap((template) => template.spec.containers.map((container: { image: string }) => container.image)));
    expect(images.size).toBe(1);
    for (const template of hikhub) {
      const [container] = template.spec.containers;
      expect(container.args, `${template.owner.metadata.name}`).toEqual([component(template)]);
      expect(isServiceName(component(template))).toBe(true);
    }
    expect(named(objects, 'Job', 'hikhub-migrate').spec.template.spec.restartPolicy).toBe('Never');
  });

  it('gives every container requests and limits and a restrictive securityContext', () => {
    for (const template of templates) {
      const pod = template.spec.securityContext ?? {};
      for (const container of [...(template.spec.initContainers ?? []), ...template.spec.containers]) {
        const where = `${template.owner.kind}/${template.owner.metadata.name} ${container.name}`;
        for (const kind of ['requests', 'limits']) {
          expect(container.resources?.[kind]?.cpu, `${where} ${kind}.cpu`).toBeDefined();
          expect(container.resources?.[kind]?.memory, `${where} ${kind}.memory`).toBeDefined();
        }
        const security = container.securityContext ?? {};
        expect(security.runAsNonRoot ?? pod.runAsNonRoot, `${where} runAsNonRoot`).toBe(true);
        expect(security.runAsUser ?? pod.runAsUser, `${where} runAsUser`).toBeGreaterThan(0);
        expect(security.readOnlyRootFilesystem, `${where} readOnlyRootFilesystem`).toBe(true);
        expect(security.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).toBe(false);
        expect(security.privileged ?? false, `${where} privileged`).toBe(false);
        expect(security.capabilities?.drop, `${where} capabilities.drop`).toEqual(['ALL']);
        expect(security.capabilities?.add ?? [], `${where} capabilities.add`).toEqual([]);
        expect((security.seccompProfile ?? pod.seccompProfile)?.type, `${where} seccompProfile`).toBe('RuntimeDefault');
        if (isHikhub(template)) expect(security.runAsUser ?? pod.runAsUser, `${where} runs as the image's user`).toBe(IMAGE_UID);
      }
      expect(template.spec.automountServiceAccountToken, `${template.owner.metadata.name} service account token`).toBe(false);
    }
  });

  it('probes each service: readiness /readyz and liveness /healthz on its own ops port', () => {
    for (const template of templates.filter((t) => isHikhub(t) && component(t) !== 'migrate')) {
      const name = component(template) as (typeof HIKHUB_COMPONENTS)[number];
      const [container] = template.spec.containers;
      const metricsPort = container.ports.find((port: { name: string }) => port.name === 'metrics')?.containerPort;
      expect(metricsPort, `${name} metrics port`).toBe(serviceCommands[name].opsPorts[0]?.defaultPort);
      expect(container.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'metrics' });
      expect(container.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'metrics' });
    }
    for (const template of templates.filter((t) => !isHikhub(t) && t.owner.kind !== 'Job')) {
      const [container] = template.spec.containers;
      expect(container.readinessProbe, `${template.owner.metadata.name} readiness`).toBeDefined();
      expect(container.livenessProbe, `${template.owner.metadata.name} liveness`).toBeDefined();
    }
  });

  it('configures the services from the ConfigMap and the Secret keys the example documents', () => {
    // Generated with a content hash in its name, so a change rolls the pods that use it.
    const configMaps = byKind(objects, 'ConfigMap').filter((map) => /^hikhub-config-[a-z0-9]{10}$/.test(map.metadata.name));
    expect(configMaps).toHaveLength(1);
    const configName = configMaps[0]!.metadata.name;
    const config = configMaps[0]!.data ?? {};
    expect(Object.keys(config).filter((key) => !KNOWN_ENV.has(key))).toEqual([]);
    expect(config).toMatchObject({ MIGRATE_ON_START: 'false', DATA_DIR: '/data', NODE_ENV: 'production' });
    expect(config.TRUSTED_PROXIES, 'the ingest sits behind the ingress controller').toMatch(/\//);
    const exampleKeys = Object.keys(example.stringData ?? {});
    for (const template of templates) {
      for (const container of template.spec.containers) {
        for (const variable of container.env ?? []) {
          if (isHikhub(template)) expect(KNOWN_ENV.has(variable.name), `${container.name} env ${variable.name}`).toBe(true);
          const ref = variable.valueFrom?.secretKeyRef;
          if (!ref) continue;
          expect(ref.name).toBe('hikhub-secrets');
          expect(exampleKeys, `${container.name} reads ${ref.key}`).toContain(ref.key);
        }
        for (const source of container.envFrom ?? []) expect(source.configMapRef?.name).toBe(configName);
        for (const variable of container.env ?? []) if (variable.valueFrom?.configMapKeyRef) expect(variable.valueFrom.configMapKeyRef.name).toBe(configName);
      }
    }
  });

  it('carries no real-looking secret, and the example Secret only placeholders', async () => {
    const secrets = [...byKind(objects, 'Secret'), example];
    expect(await schemaProblem(example)).toBeUndefined();
    for (const secret of secrets) {
      const values = { ...(secret.stringData ?? {}), ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) };
      expect(Object.entries(values).filter(([key, value]) => looksReal(key, value)).map(([key]) => key)).toEqual([]);
    }
    for (const configMap of byKind(objects, 'ConfigMap')) {
      expect(Object.keys(configMap.data ?? {}).filter((key) => /TOKEN|KEY|SECRET|PASSWORD/.test(key) && !key.endsWith('.json'))).toEqual([]);
    }
  });

  it('keeps DATA_DIR on the claim: archiver writes, api reads, access mode fits the overlay', () => {
    const claim = named(objects, 'PersistentVolumeClaim', 'hikhub-data');
    expect(claim.spec.accessModes).toEqual([overlay === 'production' ? 'ReadWriteMany' : 'ReadWriteOnce']);
    const mountOf = (name: string) => {
      const template = templates.find((t) => isHikhub(t) && component(t) === name)!;
      const volume = template.spec.volumes.find((v: { persistentVolumeClaim?: { claimName: string } }) => v.persistentVolumeClaim?.claimName === 'hikhub-data');
      return volume && template.spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === volume.name);
    };
    expect(mountOf('archiver')).toMatchObject({ mountPath: '/data' });
    expect(mountOf('archiver').readOnly ?? false).toBe(false);
    expect(mountOf('api')).toMatchObject({ mountPath: '/data', readOnly: true });
    expect(mountOf('ingest')).toBeUndefined();
    expect(mountOf('provisioner')).toBeUndefined();
    // With fsGroup and the default policy (Always), kubelet re-owns every file of DATA_DIR at each start.
    for (const name of ['archiver', 'api']) {
      const pod = templates.find((t) => isHikhub(t) && component(t) === name)!.spec.securityContext;
      if (pod.fsGroup !== undefined) expect(pod.fsGroupChangePolicy, `${name} fsGroupChangePolicy`).toBe('OnRootMismatch');
    }
  });

  it('exposes only the ingest outside the cluster', () => {
    const ingresses = byKind(objects, 'Ingress');
    expect(ingresses.map((ingress) => ingress.metadata.name)).toEqual(['hikhub-ingest']);
    const backends = ingresses.flatMap((ingress) =>
      ingress.spec.rules.flatMap((rule: { http: { paths: { backend: { service: { name: string } } }[] } }) => rule.http.paths.map((p) => p.backend.service.name)),
    );
    expect(new Set(backends)).toEqual(new Set(['hikhub-ingest']));
    expect(byKind(objects, 'Service').filter((service) => (service.spec.type ?? 'ClusterIP') !== 'ClusterIP')).toEqual([]);
    if (overlay === 'production') expect(ingresses[0]?.spec.tls?.[0]?.secretName).toBeTruthy();
  });

  describe('network policies', () => {
    const selecting = (template: PodTemplateOf) =>
      policies.filter((policy) => policy.metadata.namespace === template.owner.metadata.namespace && selects(policy.spec.podSelector, template.labels));
    const ingressRules = (template: PodTemplateOf) =>
      selecting(template).filter((p) => p.spec.policyTypes.includes('Ingress')).flatMap((p) => p.spec.ingress ?? []);
    const egressRules = (template: PodTemplateOf) =>
      selecting(template).filter((p) => p.spec.policyTypes.includes('Egress')).flatMap((p) => p.spec.egress ?? []);
    const anywhere = (peers: { ipBlock?: { cidr: string } }[] | undefined) =>
      !peers || peers.length === 0 || peers.some((peer) => ['0.0.0.0/0', '::/0'].includes(peer.ipBlock?.cidr ?? ''));
    const ports = (rules: { ports?: { port: number }[] }[]) => new Set(rules.flatMap((rule) => (rule.ports ?? []).map((port) => port.port)));

    it('covers every pod, ingress and egress', () => {
      for (const template of templates) {
        const types = new Set(selecting(template).flatMap((policy) => policy.spec.policyTypes));
        expect([...types].sort(), `${template.owner.metadata.name}`).toEqual(['Egress', 'Ingress']);
      }
    });

    it('lets only the ingest be reached from anywhere, and only on its device port', () => {
      for (const template of templates) {
        const open = ingressRules(template).filter((rule: { from?: [] }) => anywhere(rule.from));
        if (component(template) === 'ingest' && isHikhub(template)) expect([...ports(open)]).toEqual([8080]);
        else expect(open, `${template.owner.metadata.name}`).toEqual([]);
      }
    });

    it('lets the api be reached from inside the namespace and the monitoring namespace only', () => {
      const api = templates.find((t) => isHikhub(t) && component(t) === 'api')!;
      for (const rule of ingressRules(api)) {
        for (const peer of rule.from) {
          expect(peer.ipBlock).toBeUndefined();
          if (peer.namespaceSelector) expect(peer.namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'monitoring' });
        }
      }
    });

    it('lets workers reach only DNS, Redis and Postgres, and the provisioner also the device network', () => {
      // DNS 53, Postgres 5432, Redis 6379, in ascending order.
      // Managed Redis (production) may also listen on 6380 for TLS.
      const redis = overlay === 'production' ? [6379, 6380] : [6379];
      const allowedPorts: Record<string, number[]> = { ingest: [53, ...redis], archiver: [53, 5432, ...redis], api: [53, 5432, ...redis], provisioner: [53, 5432, ...redis], migrate: [53, 5432] };
      for (const template of templates.filter(isHikhub)) {
        const name = component(template)!;
        const rules = egressRules(template);
        expect(rules.filter((rule: { to?: [] }) => anywhere(rule.to)), `${name} egress anywhere`).toEqual([]);
        const portless = rules.filter((rule: { ports?: [] }) => !rule.ports?.length);
        expect([...ports(rules)].sort((a, b) => a - b), `${name} egress ports`).toEqual(allowedPorts[name]);
        if (name === 'provisioner') {
          expect(portless.length, 'the device network rule').toBeGreaterThan(0);
          for (const rule of portless) for (const peer of rule.to) expect(peer.ipBlock?.cidr).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
        } else {
          expect(portless, `${name} egress without ports`).toEqual([]);
        }
      }
    });

    it('lets Redis and Postgres clients reach the datastores on the ports of the URLs the docs tell operators to use', () => {
      const urls = documentedDatastoreUrls(overlay);
      const cases = [
        { policy: 'hikhub-allow-redis', url: urls.REDIS_URL, label: 'hikhub.io/redis-client' },
        { policy: 'hikhub-allow-postgres', url: urls.DATABASE_URL, label: 'hikhub.io/postgres-client' },
      ];
      for (const { policy, url, label } of cases) {
        const port = Number(new URL(url.replace(/<[^>]*>/g, 'placeholder')).port);
        const rules = named(objects, 'NetworkPolicy', policy).spec.egress as { ports?: { port: number }[] }[];
        expect([...ports(rules)], `${policy} allows the port of ${url}`).toContain(port);
        for (const template of templates.filter((t) => t.labels[label] === 'true')) {
          expect([...ports(egressRules(template))], `${template.owner.metadata.name} → ${url}`).toContain(port);
        }
      }
    });

    it('lets nothing but hikhub clients reach in-cluster datastores, and them reach nothing', () => {
      for (const template of templates.filter((t) => !isHikhub(t))) {
        for (const rule of ingressRules(template)) {
          for (const peer of rule.from) expect(Object.keys(peer.podSelector?.matchLabels ?? {}).some((key) => key.startsWith('hikhub.io/'))).toBe(true);
        }
        expect(egressRules(template)).toEqual([]);
      }
    });
  });

  it('scales ingest with an HPA, leaves replica counts to the autoscalers, and has a PDB for every workload', () => {
    const hpa = named(objects, 'HorizontalPodAutoscaler', 'hikhub-ingest');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'hikhub-ingest' });
    const autoscaled = new Set(['hikhub-ingest', ...byKind(objects, 'ScaledObject').map((scaled) => scaled.spec.scaleTargetRef.name as string)]);
    for (const deployment of byKind(objects, 'Deployment')) {
      if (autoscaled.has(deployment.metadata.name)) expect(deployment.spec.replicas, deployment.metadata.name).toBeUndefined();
    }
    for (const template of templates.filter((t) => t.owner.kind !== 'Job')) {
      const budgets = byKind(objects, 'PodDisruptionBudget').filter((pdb) => selects(pdb.spec.selector, template.labels));
      expect(budgets.length, `${template.owner.metadata.name} PDB`).toBe(1);
    }
    if (overlay === 'production') {
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(named(objects, 'Deployment', 'hikhub-api').spec.replicas).toBeGreaterThanOrEqual(2);
    }
  });

  it(overlay === 'production' ? 'scales archiver and provisioner with KEDA on their queue depth' : 'has no KEDA objects', () => {
    const scaled = byKind(objects, 'ScaledObject');
    if (overlay !== 'production') return expect(scaled).toEqual([]);
    const queues = { 'hikhub-archiver': 'events', 'hikhub-provisioner': 'provisioning' } as Record<string, string>;
    expect(scaled.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(Object.keys(queues));
    for (const object of scaled) {
      named(objects, 'Deployment', object.spec.scaleTargetRef.name);
      expect(object.spec.minReplicaCount, 'the gauge comes from the workers: never zero').toBeGreaterThanOrEqual(1);
      const [trigger] = object.spec.triggers;
      expect(trigger.type).toBe('prometheus');
      expect(trigger.metadata.query).toContain(`queue="${queues[object.spec.scaleTargetRef.name]}"`);
      expect(trigger.metadata.query).toContain('hikhub_queue_jobs');
      expect(trigger.metadata.query, 'the query reads this install only').toContain(`namespace="${object.metadata.namespace}"`);
    }
  });

  it(overlay === 'production' ? 'uses managed datastores and scrapes every service' : 'runs Redis (AOF, noeviction) and Postgres in the cluster', () => {
    const statefulSets = byKind(objects, 'StatefulSet');
    if (overlay === 'production') {
      expect(statefulSets).toEqual([]);
      const monitor = named(objects, 'ServiceMonitor', 'hikhub');
      const scraped = byKind(objects, 'Service').filter((service) => selects(monitor.spec.selector, service.metadata.labels ?? {}));
      expect(scraped.map((service) => service.metadata.labels?.[monitor.spec.jobLabel]).sort()).toEqual([...HIKHUB_COMPONENTS].sort());
      for (const service of scraped) expect(service.spec.ports.map((port: { name: string }) => port.name)).toContain('metrics');
      expect(named(objects, 'PrometheusRule', 'hikhub').spec.groups.length).toBeGreaterThan(0);
      expect(byKind(objects, 'ConfigMap').filter((map) => map.metadata.labels?.grafana_dashboard === '1').length).toBeGreaterThan(0);
      return;
    }
    expect(statefulSets.map((set) => set.metadata.name).sort()).toEqual(['hikhub-postgres', 'hikhub-redis']);
    const redisArgs: string[] = named(objects, 'StatefulSet', 'hikhub-redis').spec.template.spec.containers[0].args;
    const option = (name: string) => redisArgs[redisArgs.indexOf(name) + 1];
    expect(option('--appendonly')).toBe('yes');
    expect(option('--appendfsync')).toBe('everysec');
    expect(option('--maxmemory-policy')).toBe('noeviction');
    expect(option('--maxmemory')).toMatch(/^\d+(mb|gb)$/);
    for (const name of ['hikhub-redis', 'hikhub-postgres']) named(objects, 'Service', name);
  });
});
