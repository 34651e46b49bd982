import { isIP } from 'node:net';
import { z } from 'zod';
import { badRequest, notFound } from './errors.js';

/**
 * Request schemas and the one way handlers read input: `parse` turns zod issues into a 400
 * naming every bad field (`issues: [{path, message}]`), so a client fixes all of them at once.
 */

export function parse<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query' = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
  const message = issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
  throw badRequest(`invalid ${where}: ${message}`, { issues });
}

function formatPath(path: PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index ? '.' : ''}${String(part)}`)).join('');
}

/** Same rule as the job payloads (libs/jobs/provisioning.ts): Hikvision's employeeNo and cardNo fields. */
const IDENTIFIER = /^[A-Za-z0-9]{1,32}$/;
export const employeeNoSchema = z.string().regex(IDENTIFIER, 'expected 1–32 letters or digits');
export const cardNoSchema = z.string().regex(IDENTIFIER, 'expected 1–32 letters or digits');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const deviceIdSchema = z.string().regex(UUID, 'expected a device id (UUID)');

/** A path id that cannot exist (malformed) is simply not found — never a database error. */
export function deviceIdParam(value: string | string[] | undefined): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw notFound(`device ${String(value)} not found`);
  return value.toLowerCase();
}

export function employeeNoParam(value: string | string[] | undefined): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) throw notFound(`person ${String(value)} not found`);
  return value;
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const hostSchema = z
  .string()
  .trim()
  .refine((value) => isIP(value) !== 0 || HOSTNAME.test(value), 'expected a hostname or an IP address (no scheme, port or path)')
  // Hostnames and IPv6 hex are case-insensitive: one spelling, so host:port stays unique.
  .transform((value) => value.toLowerCase());

const portSchema = z.number().int('expected an integer').min(1, 'expected 1–65535').max(65535, 'expected 1–65535');
const nameSchema = z.string().trim().min(1, 'must not be empty').max(128, 'at most 128 characters');
/** Hikvision accounts: printable ASCII, no spaces at the ends. */
const usernameSchema = z.string().min(1, 'must not be empty').max(64, 'at most 64 characters').regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
const passwordSchema = z.string().min(1, 'must not be empty').max(128, 'at most 128 characters');

const deviceFields = {
  name: nameSchema,
  host: hostSchema,
  port: portSchema,
  scheme: z.enum(['http', 'https']),
  username: usernameSchema,
  password: passwordSchema,
  pruneUnknownUsers: z.boolean(),
  doors: z
    .array(z.number().int('a door number is an integer').min(1, 'door numbers start at 1').max(256, 'at most door 256'))
    .min(1, 'at least one door')
    .max(64, 'at most 64 doors')
    .refine((doors) => new Set(doors).size === doors.length, 'each door once'),
};

export const createDeviceSchema = z.strictObject({
  ...deviceFields,
  scheme: deviceFields.scheme.default('http'),
  pruneUnknownUsers: deviceFields.pruneUnknownUsers.optional(),
  doors: deviceFields.doors.optional(),
});

export const updateDeviceSchema = z
  .strictObject(deviceFields)
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'name at least one field to change');

/** ISO 8601 with an explicit offset: a time without one would be read in the server's zone, silently. */
const isoDateTime = z.iso
  .datetime({ offset: true, error: 'expected an ISO 8601 date-time with an offset, e.g. 2025-01-31T08:00:00Z' })
  .transform((text) => new Date(text));

const cardsSchema = z
  .array(cardNoSchema)
  .max(50, 'at most 50 cards')
  .refine((cards) => new Set(cards).size === cards.length, 'a card is listed twice');

const personFields = {
  name: nameSchema,
  userType: z.enum(['normal', 'visitor', 'blackList']),
  validFrom: isoDateTime.nullable(),
  validTo: isoDateTime.nullable(),
  cards: cardsSchema,
};

const validityInOrder = (value: { validFrom?: Date | null; validTo?: Date | null }) =>
  !value.validFrom || !value.validTo || value.validTo > value.validFrom;
const validityIssue = { message: 'validTo must be after validFrom', path: ['validTo'] };

export const createPersonSchema = z
  .strictObject({ employeeNo: employeeNoSchema, ...personFields })
  .partial({ userType: true, validFrom: true, validTo: true, cards: true })
  .refine(validityInOrder, validityIssue);

export const updatePersonSchema = z
  .strictObject(personFields)
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'name at least one field to change')
  .refine(validityInOrder, validityIssue);

export const devicePeopleSchema = z.strictObject({
  employeeNos: z.array(employeeNoSchema).max(100_000, 'at most 100000 people per device'),
});

export const listPeopleQuerySchema = z.strictObject({
  after: employeeNoSchema.optional(),
  limit: z.coerce.number().int('expected an integer').min(1, 'expected 1–1000').max(1000, 'expected 1–1000').default(100),
  /** `devices`: each person carries their per-device assignments, as GET /people/{employeeNo} does. */
  include: z.enum(['devices'], { error: 'expected devices' }).optional(),
});

export const personDevicesSchema = z.strictObject({
  deviceIds: z
    .array(deviceIdSchema.transform((id) => id.toLowerCase()))
    .max(10_000, 'at most 10000 devices'),
});

export const configureEventsSchema = z.strictObject({
  url: z.string().max(2048, 'at most 2048 characters').optional(),
  /** How the device authenticates its event posts: none, or a per-device Digest credential hikhub creates. */
  authentication: z.enum(['none', 'digest']).default('none'),
});
