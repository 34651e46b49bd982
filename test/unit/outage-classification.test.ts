import pg from 'pg';
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { classifyOutage } from '../../services/archiver/outage-classification.js';

/** node-postgres' own error class, as the server's ErrorResponse becomes one. */
function postgresError(code: string, message: string): Error {
  const error = new pg.DatabaseError(message, message.length, 'error');
  error.code = code;
  return error;
}

function errnoError(code: string, syscall: string, message = `${syscall} ${code}`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code, syscall, errno: -1 });
}

describe('outage classification', () => {
  it('takes a Postgres that is away, restarting, full or saturated as a postgres outage', () => {
    expect(classifyOutage(errnoError('ECONNREFUSED', 'connect', 'connect ECONNREFUSED 127.0.0.1:5432'))).toBe('postgres');
    expect(classifyOutage(errnoError('ECONNRESET', 'read'))).toBe('postgres');
    expect(classifyOutage(errnoError('ETIMEDOUT', 'connect'))).toBe('postgres');
    expect(classifyOutage(errnoError('EAI_AGAIN', 'getaddrinfo'))).toBe('postgres');
    expect(classifyOutage(new Error('Connection terminated unexpectedly'))).toBe('postgres');
    expect(classifyOutage(new Error('Connection terminated due to connection timeout'))).toBe('postgres');
    expect(classifyOutage(new Error('timeout exceeded when trying to connect'))).toBe('postgres');
    expect(classifyOutage(new Error('Client has encountered a connection error and is not queryable'))).toBe('postgres');
    expect(classifyOutage(postgresError('57P01', 'terminating connection due to administrator command'))).toBe('postgres');
    expect(classifyOutage(postgresError('57P03', 'the database system is starting up'))).toBe('postgres');
    expect(classifyOutage(postgresError('53300', 'sorry, too many clients already'))).toBe('postgres');
    expect(classifyOutage(postgresError('53100', 'could not extend file: No space left on device'))).toBe('postgres');
    expect(classifyOutage(postgresError('08006', 'connection failure'))).toBe('postgres');
    expect(classifyOutage(postgresError('25006', 'cannot execute INSERT in a read-only transaction'))).toBe('postgres');
    // The message alone is enough when a wrapper lost the code.
    expect(classifyOutage(new Error('the database system is shutting down'))).toBe('postgres');
  });

  it('takes a full, read-only, failing or forbidden DATA_DIR as a pictures outage', () => {
    expect(classifyOutage(errnoError('ENOSPC', 'write'))).toBe('pictures');
    expect(classifyOutage(errnoError('EDQUOT', 'write'))).toBe('pictures');
    expect(classifyOutage(errnoError('EIO', 'open'))).toBe('pictures');
    expect(classifyOutage(errnoError('EROFS', 'open'))).toBe('pictures');
    expect(classifyOutage(errnoError('EACCES', 'mkdir'))).toBe('pictures');
    expect(classifyOutage(errnoError('EPERM', 'rename'))).toBe('pictures');
    expect(classifyOutage(errnoError('ENOTDIR', 'mkdir'))).toBe('pictures');
  });

  it('finds the outage inside an AggregateError (dual-stack connect) or a cause', () => {
    const both = new AggregateError([errnoError('ECONNREFUSED', 'connect'), errnoError('ECONNREFUSED', 'connect')], '');
    expect(classifyOutage(both)).toBe('postgres');
    expect(classifyOutage(new Error('write failed', { cause: errnoError('ENOSPC', 'write') }))).toBe('pictures');
  });

  it('leaves ordinary failures of the job to its attempts', () => {
    expect(classifyOutage(postgresError('23505', 'duplicate key value violates unique constraint'))).toBeNull();
    expect(classifyOutage(postgresError('22021', 'invalid byte sequence for encoding "UTF8"'))).toBeNull();
    expect(classifyOutage(postgresError('40P01', 'deadlock detected'))).toBeNull();
    expect(classifyOutage(postgresError('42P01', 'relation "events" does not exist'))).toBeNull();
    expect(classifyOutage(errnoError('ENOENT', 'open'))).toBeNull();
    // A refused connect is the network, never the disk, whatever its code.
    expect(classifyOutage(errnoError('EACCES', 'connect'))).toBeNull();
    expect(classifyOutage(new UnrecoverableError('body of event x is missing from Redis'))).toBeNull();
    expect(classifyOutage(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBeNull();
    expect(classifyOutage('ECONNREFUSED')).toBeNull();
    expect(classifyOutage(null)).toBeNull();
    expect(classifyOutage(undefined)).toBeNull();
  });

  it('does not loop on an error that is its own cause', () => {
    const error = new Error('strange') as Error & { cause?: unknown };
    error.cause = error;
    expect(classifyOutage(error)).toBeNull();
  });
});
