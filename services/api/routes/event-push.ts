import { randomBytes } from 'node:crypto';
import type { Router } from 'express';
import { createPathToken } from '../../../libs/edge-auth/credential-store.js';
import { API_PREFIX, type ApiContext } from '../context.js';
import { jsonBody } from '../body.js';
import { badRequest, notFound } from '../errors.js';
import { configureEventsSchema, deviceIdParam, parse } from '../validation.js';

const TOKEN_PLACEHOLDER = '{token}';
const DEFAULT_EVENT_PATH = `/hikvision/events/${TOKEN_PLACEHOLDER}`;

/**
 * Point a device's HTTP event push at hikhub. A `{token}` in the URL becomes a fresh per-device
 * secret that ingest accepts; it is sealed at rest and never shown. What the device holds now
 * stays valid until the provisioner has written the new settings (it revokes the old ones then).
 * `authentication: "digest"` gives the device its own Digest credential (MD5digest in its slot),
 * registered at the ingest edge for INGEST_DIGEST_REALM.
 */
export function registerEventPushRoutes(router: Router, { desired, jobs, edgeCredentials, eventPushBaseUrl }: ApiContext): void {
  router.post(`${API_PREFIX}/devices/:id/configure-events`, jsonBody({ optional: true }), async (req, res) => {
    const id = deviceIdParam(req.params.id);
    const body = parse(configureEventsSchema, req.body);
    if (!(await desired.getDevice(id))) throw notFound(`device ${id} not found`);
    const url = body.url ?? (eventPushBaseUrl ? `${eventPushBaseUrl.replace(/\/+$/, '')}${DEFAULT_EVENT_PATH}` : undefined);
    if (url === undefined) throw badRequest('name the push URL in "url" (EVENT_PUSH_BASE_URL is not set on this server)', { issues: [{ path: 'url', message: 'required when EVENT_PUSH_BASE_URL is not set' }] });
    checkPushUrl(url);

    const previous = await desired.eventPushCredentials(id);
    const token = url.includes(TOKEN_PLACEHOLDER) ? createPathToken() : null;
    const digest = body.authentication === 'digest' ? { username: pushUsername(id), password: createPushPassword() } : null;
    // Registered before they are stored, so the device is never given a credential ingest does not know.
    if (token) await edgeCredentials.setPathToken(token, id);
    if (digest) await edgeCredentials.setDigestCredential(digest.username, digest.password, id);
    let device: Awaited<ReturnType<typeof desired.setEventPush>>;
    try {
      device = await desired.setEventPush(id, url, token, digest);
    } catch (error) {
      await edgeCredentials.revoke({ token, digestUsername: digest?.username ?? null });
      throw error;
    }
    if (!device) {
      await edgeCredentials.revoke({ token, digestUsername: digest?.username ?? null });
      throw notFound(`device ${id} not found`);
    }
    // What the device holds now stays valid until the provisioner has written the new settings
    // (it revokes them then); a previous request's credentials that never reached the device go now.
    await edgeCredentials.revoke({
      token: previous.token !== previous.configuredToken ? previous.token : null,
      digestUsername: previous.digestUsername !== previous.configuredDigestUsername ? previous.digestUsername : null,
    });

    const { jobId } = await jobs.enqueue('device.configure-events', { deviceId: id });
    res.status(202).json({ jobId, eventPushUrl: device.eventPushUrl, tokenIssued: token !== null, digestUsername: device.eventPushUsername });
  });
}

/**
 * A Digest username per device and configuration (`hikhub-<12 hex of the device>-<4 random>`): a
 * new one each time, so the device's current credential keeps working until it has the new one.
 */
const pushUsername = (deviceId: string): string => `hikhub-${deviceId.replaceAll('-', '').slice(-12)}-${randomBytes(2).toString('hex')}`;


/** 16 letters and digits (~95 bits): fits the password fields of device firmware. */
function createPushPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return Array.from(randomBytes(16), (byte) => alphabet[byte % alphabet.length]).join('');
}

function checkPushUrl(url: string): void {
  const bad = (message: string) => badRequest(`url: ${message}`, { issues: [{ path: 'url', message }] });
  if (url.split(TOKEN_PLACEHOLDER).length > 2) throw bad(`${TOKEN_PLACEHOLDER} may appear once`);
  let parsed: URL;
  try {
    parsed = new URL(url.replace(TOKEN_PLACEHOLDER, 'token'));
  } catch {
    throw bad('expected an absolute http:// or https:// URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw bad('expected an absolute http:// or https:// URL');
  if (parsed.username || parsed.password) throw bad('credentials do not belong in the URL; use {token}');
  if (parsed.hash) throw bad('a fragment (#…) is never sent by devices');
}
