import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetsDir, loadAsset } from '../../tools/simulator/assets.js';
import { accessEventDocument, notificationBody, pushingDevice, type PushingDevice } from '../../tools/simulator/event-documents.js';
import { multipartContentType } from '../../tools/simulator/multipart-body.js';
import { startSimulatedTerminal, type SimulatedTerminal } from '../../tools/simulator/terminal.js';
import { startSystem, type RunningSystem } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';
import { imageLoaded, LAPTOP, launchChromium, screenshot, screenshotDir, TABLET } from './console-pages.js';

/**
 * The web console in a real browser against the whole running system (`npm start` as a child
 * process) and a simulated face terminal, as an operator uses it: sign in, watch an access event
 * arrive live with its face, filter, open it, add a person with a face and see the terminal get
 * them, check the devices and the quarantine. Each page is screenshotted (see console-pages.ts).
 */

const MINOR_FACE_VERIFIED = 0x4b;
const MINOR_CARD_NOT_AUTHORISED = 0x06;

interface AccessEvent {
  name?: string;
  employeeNo?: string;
  cardNo?: string;
  minor: number;
  picture?: Buffer;
}

/** What the terminal at the front door posts for one person at the door (its own clock, door 1). */
function accessEventBody(device: PushingDevice, event: AccessEvent): { body: Buffer; deviceTime: string } {
  const document = accessEventDocument(device, new Date(), event.picture !== undefined);
  const access = document.AccessControllerEvent as Record<string, unknown>;
  delete access.name;
  delete access.employeeNoString;
  Object.assign(access, {
    subEventType: event.minor,
    doorNo: 1,
    ...(event.name ? { name: event.name } : {}),
    ...(event.employeeNo ? { employeeNoString: event.employeeNo } : {}),
    ...(event.cardNo ? { cardNo: event.cardNo } : {}),
  });
  return { body: notificationBody(document, event.picture), deviceTime: document.dateTime as string };
}

/** A camera's motion alarm, as XML (its own clock in UTC). */
const motionEvent = () => `<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>10.40.0.12</ipAddress><portNo>80</portNo><protocol>HTTP</protocol><macAddress>44:19:b6:0a:11:22</macAddress>
<channelID>1</channelID><dateTime>${new Date().toISOString().replace(/\.\d+Z$/, '+00:00')}</dateTime><activePostCount>1</activePostCount>
<eventType>VMD</eventType><eventState>active</eventState><eventDescription>Motion alarm</eventDescription><channelName>Car park</channelName>
</EventNotificationAlert>`;

describe('the web console in Chromium', () => {
  let system: RunningSystem | undefined;
  let terminal: SimulatedTerminal | undefined;
  /** A second terminal, registered with a wrong password. */
  let sideGate: SimulatedTerminal | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let deviceId: string;
  const frontDoor = { ...pushingDevice(0, 'c0de'), deviceName: 'Front door' };
  const pageErrors: string[] = [];
  let graceEventId = '';
  let graceDeviceTime = '';

  const consoleUrl = (pathname = '/') => `http://127.0.0.1:${system!.ports.api}${pathname}`;
  const adminApi = (method: string, pathname: string, json?: unknown) => system!.api(method, pathname, json === undefined ? {} : { json });

  async function postToIngest(body: Buffer | string, contentType: string): Promise<void> {
    const response = await fetch(`http://127.0.0.1:${system!.ports.ingest}/hikvision/events`, { method: 'POST', headers: { 'content-type': contentType }, body });
    expect(response.status, await response.text()).toBe(200);
  }

  const pushAccessEvent = async (event: AccessEvent) => {
    const { body, deviceTime } = accessEventBody(frontDoor, event);
    await postToIngest(body, multipartContentType());
    return deviceTime;
  };

  const feedRows = () => page.locator('.feed-row');
  const navTo = async (label: string, pathname: string) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).click();
    await page.waitForURL(consoleUrl(pathname));
  };

  beforeAll(async () => {
    terminal = await startSimulatedTerminal({ serialNumber: 'DS-K1T671MF20240115V030215ENCONSOLE1', deviceName: 'Front door' });
    sideGate = await startSimulatedTerminal({ serialNumber: 'DS-K1T671MF20240115V030215ENCONSOLE2', deviceName: 'Side gate' });
    system = await startSystem('console_browser');
    browser = await launchChromium();
    context = await browser.newContext({ viewport: LAPTOP, timezoneId: 'Europe/Paris', locale: 'en-GB' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    console.log(`[console-browser] screenshots in ${screenshotDir}`);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await system?.cleanup();
    await terminal?.close();
    await sideGate?.close();
  });

  it('refuses a wrong token, then signs in with the admin token into an HttpOnly cookie', async () => {
    await page.goto(consoleUrl('/'));
    const token = page.locator('input[name="token"]');
    await token.waitFor();
    await expect(page.locator('.signin-card').textContent()).resolves.toContain('DATA_DIR/secrets/admin-token');
    await screenshot(page, 'sign-in');

    await token.fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not the admin token');

    await token.fill(system!.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();

    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === 'hikhub_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    // The token itself is nowhere the page's scripts could read it.
    const stored = await page.evaluate(() => {
      const { localStorage, sessionStorage, document } = globalThis as any;
      return { local: localStorage.length as number, session: sessionStorage.length as number, cookie: document.cookie as string };
    });
    expect(stored).toEqual({ local: 0, session: 0, cookie: '' });
  });

  it('shows an access event from the terminal live, without a reload, with its face, name and door', async () => {
    await page.waitForSelector('.live[data-status="live"]');
    await expect(page.locator('.state-empty').textContent()).resolves.toContain('No events yet');
    await screenshot(page, 'live-empty');
    // A reload would lose this marker.
    await page.evaluate(() => Object.assign(globalThis, { stayedOnPage: true }));

    graceDeviceTime = await pushAccessEvent({ name: 'Grace Hopper', employeeNo: '4711', minor: MINOR_FACE_VERIFIED, picture: loadAsset('face.jpg') });
    const row = page.locator('.feed-row', { hasText: 'Grace Hopper' });
    await row.waitFor();
    graceEventId = (await row.getAttribute('data-event-id'))!;
    expect(graceEventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await imageLoaded(page, `.feed-row[data-event-id="${graceEventId}"] img.thumb`)).toBe(640);
    const text = await row.textContent();
    expect(text).toContain('#4711');
    expect(text).toContain('Door 1');
    expect(text).toContain('face verified');
    expect(await page.evaluate(() => (globalThis as { stayedOnPage?: boolean }).stayedOnPage)).toBe(true);

    // A few more, for the filter below and a realistic screenshot.
    await pushAccessEvent({ cardNo: '0009931177', minor: MINOR_CARD_NOT_AUTHORISED });
    await pushAccessEvent({ name: 'Katherine Johnson', employeeNo: '4713', minor: MINOR_FACE_VERIFIED, picture: loadAsset('face-2.jpg') });
    await postToIngest(motionEvent(), 'application/xml');
    await pushAccessEvent({ name: 'Alan Turing', employeeNo: '4712', minor: MINOR_FACE_VERIFIED });
    await waitFor(async () => (await feedRows().count()) === 5, 20_000, 'five events in the live feed');
    expect(await page.evaluate(() => (globalThis as { stayedOnPage?: boolean }).stayedOnPage)).toBe(true);
    expect(await page.locator('.feed-row', { hasText: 'card not authorised' }).locator('.badge-bad').count()).toBe(1);
    const katherine = await page.locator('.feed-row', { hasText: 'Katherine Johnson' }).getAttribute('data-event-id');
    await imageLoaded(page, `.feed-row[data-event-id="${katherine}"] img.thumb`);
    await screenshot(page, 'live', { forDocs: true });
  });

  it('narrows the feed with a filter, and keeps it live', async () => {
    await page.locator('input[name="name"]').fill('grace');
    await waitFor(async () => (await feedRows().count()) === 1, 15_000, 'the feed to narrow to Grace');
    expect(await feedRows().first().textContent()).toContain('Grace Hopper');
    expect(page.url()).toContain('name=grace');
    await page.waitForSelector('.live[data-status="live"]');

    // Only matching events arrive while filtered: Alan's is archived before Grace's second, so order proves it.
    await pushAccessEvent({ name: 'Alan Turing', employeeNo: '4712', minor: MINOR_FACE_VERIFIED });
    await pushAccessEvent({ name: 'Grace Hopper', employeeNo: '4711', minor: MINOR_FACE_VERIFIED });
    await waitFor(async () => (await feedRows().count()) === 2, 15_000, "Grace's second event in the filtered feed");
    expect(await feedRows().allTextContents()).toEqual([expect.stringContaining('Grace Hopper'), expect.stringContaining('Grace Hopper')]);
    await screenshot(page, 'live-filtered');

    await page.locator('input[name="name"]').fill('');
    await page.locator('input[name="employeeNo"]').fill('4713');
    await waitFor(async () => (await feedRows().count()) === 1 && ((await feedRows().first().textContent()) ?? '').includes('Katherine Johnson'), 15_000, 'the feed filtered by employee no');
  });

  it('opens an event: the picture full size, every field, the raw document', async () => {
    await page.goto(consoleUrl('/?name=grace'));
    await page.locator(`.feed-row[data-event-id="${graceEventId}"]`).click();
    await page.waitForURL(consoleUrl(`/events/${graceEventId}`));
    expect(await imageLoaded(page, 'img.picture-full')).toBe(640);
    expect(await page.locator('img.picture-full').evaluate((img) => img.clientWidth)).toBeGreaterThan(300);
    const details = (await page.locator('section[aria-label="Details"]').textContent()) ?? '';
    for (const expected of ['Grace Hopper', '4711', 'face verified', 'AccessControllerEvent', 'access_control', graceDeviceTime, frontDoor.ipAddress, frontDoor.macAddress, '/hikvision/events']) {
      expect(details, expected).toContain(expected);
    }
    const raw = (await page.locator('pre.code').textContent()) ?? '';
    expect(JSON.parse(raw)).toMatchObject({ AccessControllerEvent: { name: 'Grace Hopper', employeeNoString: '4711', doorNo: 1 } });
    await screenshot(page, 'event', { forDocs: true });
  });

  it('adds a person with a face and a device; the badge turns green and the terminal holds them', async () => {
    const created = await adminApi('POST', '/api/v1/devices', { name: 'Front door', host: terminal!.host, port: terminal!.port, username: terminal!.username, password: terminal!.password });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    deviceId = created.body.id as string;
    await waitFor(async () => (await adminApi('GET', `/api/v1/devices/${deviceId}`)).body?.status === 'online', 30_000, 'the terminal to be online');

    await navTo('People', '/people');
    await expect(page.locator('.state-empty').textContent()).resolves.toContain('No people yet');
    await page.getByRole('link', { name: 'Add person' }).click();
    await page.waitForURL(consoleUrl('/people/new'));
    await page.locator('input[name="employeeNo"]').fill('9001');
    await page.locator('input[name="name"]').fill('Ada Lovelace');
    await page.locator('input[name="cards"]').fill('0004412345');
    await page.locator(`input[name="deviceIds"][value="${deviceId}"]`).check();

    // Too big for a terminal: the API's refusal is shown as it is, and the stored person stays editable.
    await page.locator('input[name="face"]').setInputFiles(path.join(assetsDir, 'oversize.jpg'));
    await page.getByRole('button', { name: 'Add person' }).click();
    const refusal = page.locator('.notice-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/face photo was refused.*204800 bytes/s);
    await page.waitForURL(consoleUrl('/people/9001'));
    expect(await page.locator(`input[name="deviceIds"][value="${deviceId}"]`).isChecked()).toBe(true);

    await page.locator('input[name="face"]').setInputFiles(path.join(assetsDir, 'face.jpg'));
    await imageLoaded(page, '.face-picker img.thumb');
    await screenshot(page, 'person-form');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForURL(consoleUrl('/people'));

    const row = page.locator('.person-row[data-employee-no="9001"]');
    await row.locator('[data-state="synced"]').waitFor({ timeout: 60_000 });
    expect(await row.textContent()).toContain('0004412345');
    expect(await imageLoaded(page, '.person-row[data-employee-no="9001"] img.thumb')).toBe(640);
    await screenshot(page, 'people', { forDocs: true });

    expect(terminal!.users().map(({ employeeNo, name }) => ({ employeeNo, name }))).toEqual([{ employeeNo: '9001', name: 'Ada Lovelace' }]);
    expect(terminal!.cards().map(({ cardNo, employeeNo }) => ({ cardNo, employeeNo }))).toEqual([{ cardNo: '0004412345', employeeNo: '9001' }]);
    const faces = terminal!.faces();
    expect(faces.map((face) => face.FPID)).toEqual(['9001']);
    expect(faces[0]!.bytes.equals(loadAsset('face.jpg'))).toBe(true);
  }, 120_000);

  it('shows the terminal on the devices page with its status, model and firmware', async () => {
    await navTo('Devices', '/devices');
    const card = page.locator(`article[data-device-id="${deviceId}"]`);
    await card.waitFor();
    const text = (await card.textContent()) ?? '';
    for (const expected of ['Front door', 'online', terminal!.identity.model, terminal!.identity.firmwareVersion, terminal!.identity.serialNumber]) expect(text, expected).toContain(expected);
    // The devices that posted events are listed too.
    await page.locator('.observed-table', { hasText: frontDoor.ipAddress }).waitFor();
    await screenshot(page, 'devices', { forDocs: true });
  });

  it('shows refused credentials as a problem with its fix, and recovers when they are corrected', async () => {
    const created = await adminApi('POST', '/api/v1/devices', { name: 'Side gate', host: sideGate!.host, port: sideGate!.port, username: sideGate!.username, password: 'not-the-password' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const gateId = created.body.id as string;
    await page.goto(consoleUrl('/devices'));
    const card = page.locator(`article[data-device-id="${gateId}"]`);
    await card.locator('text=wrong credentials').waitFor({ timeout: 30_000 });
    await expect(card.getByRole('alert').textContent()).resolves.toContain("refused hikhub's username or password");
    await screenshot(page, 'devices-auth-failed');

    await card.locator('input[name="password"]').fill(sideGate!.password);
    await card.getByRole('button', { name: 'Save' }).click();
    await card.locator('.badge', { hasText: 'online' }).waitFor({ timeout: 30_000 });
    expect(await card.textContent()).toContain(sideGate!.identity.firmwareVersion);
  }, 90_000);

  it('lists a payload quarantined because it was not XML', async () => {
    await postToIngest('<EventNotificationAlert><eventType>VMD</eventType><broken', 'application/xml');
    const item = await waitFor(async () => (await adminApi('GET', '/api/v1/quarantine')).body?.items?.[0], 20_000, 'the garbage to be quarantined');
    await navTo('Quarantine', '/quarantine');
    const row = page.locator(`tr[data-quarantine-id="${item.id as string}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain(item.reasonCode as string);
    expect(await row.getByRole('link', { name: 'Download' }).getAttribute('href')).toBe(`/api/v1/quarantine/${item.id as string}/body`);
    await screenshot(page, 'quarantine', { forDocs: true });

    // Re-run it: still garbage, so it stays quarantined, now with the outcome of the re-run.
    await row.getByRole('button', { name: 'Re-run' }).click();
    await expect(page.locator('.notice-ok').textContent()).resolves.toContain('Re-run queued');
    const rerun = await waitFor(async () => {
      const items = (await adminApi('GET', '/api/v1/quarantine')).body?.items as { id: string; reprocessedAt: string | null; reprocessOutcome: string | null }[] | undefined;
      return items?.find((candidate) => candidate.id === item.id && candidate.reprocessedAt !== null);
    }, 20_000, 'the re-run to be recorded');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await row.locator('.badge', { hasText: rerun.reprocessOutcome ?? 're-run' }).waitFor();
  });

  it('lays the feed out as cards at tablet width', async () => {
    await page.setViewportSize(TABLET);
    await navTo('Live', '/');
    await waitFor(async () => (await feedRows().count()) >= 5, 15_000, 'the feed');
    expect(await page.locator('.feed-head').isVisible()).toBe(false);
    const widths = await feedRows().evaluateAll((rows) => rows.slice(0, 2).map((row) => row.getBoundingClientRect().width));
    expect(Math.max(...widths)).toBeLessThan(TABLET.width / 2);
    await imageLoaded(page, `.feed-row[data-event-id="${graceEventId}"] img.thumb`);
    await screenshot(page, 'live-tablet', { forDocs: true });
    await page.setViewportSize(LAPTOP);
  });

  it('signs out: the cookie is cleared and the console asks for the token again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('input[name="token"]').waitFor();
    expect((await context.cookies()).filter((cookie) => cookie.name === 'hikhub_session')).toEqual([]);
    await page.goto(consoleUrl('/people'));
    await page.locator('input[name="token"]').waitFor();
    // Without the session, the page's scripts get neither events nor their pictures.
    const pictureUrl = ((await adminApi('GET', `/api/v1/events/${graceEventId}`)).body.pictures as { url: string }[])[0]!.url;
    const statuses = await page.evaluate(
      // no-store: pictures are immutable and cached privately, so ask the server, not the cache.
      async (urls) => {
        const fromServer = { method: 'GET', cache: 'no-store' };
        return Promise.all(urls.map(async (url) => (await fetch(url, fromServer)).status));
      },
      [`/api/v1/events/${graceEventId}`, pictureUrl],
    );
    expect(statuses).toEqual([401, 401]);
  });

  it('ran without a script error on any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
