import type { IsapiClient } from './client.js';
import { hasSubStatus, IsapiError } from './errors.js';
import { checkFaceJpeg } from './face-jpeg.js';
import { buildFaceMultipart } from './face-multipart.js';
import { asArray, asRecord, asString } from './response-body.js';
import { requireEmployeeNo } from './users.js';

/** The face of a person in the access face library (blackFD, FDID 1, FPID = employeeNo). */

export { checkFaceJpeg, MAX_FACE_JPEG_BYTES, type FaceJpegCheck } from './face-jpeg.js';
export { buildFaceMultipart, type FaceMultipart, type FaceMultipartOptions } from './face-multipart.js';

const SETUP = '/ISAPI/Intelligent/FDLib/FDSetUp?format=json';
const RECORD = '/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json';
const DELETE = '/ISAPI/Intelligent/FDLib/FDSearch/Delete?format=json&FDID=1&faceLibType=blackFD';
const SEARCH = '/ISAPI/Intelligent/FDLib/FDSearch?format=json';

const FACE_NOT_FOUND = ['deleteNoExistFace', 'faceDataNotExist'];

export interface UpsertFaceOptions {
  imagePartName?: string;
}

/**
 * FDSetUp creates or replaces (and keeps the old face if the new one cannot be modelled).
 * Where unsupported: delete, then FaceDataRecord, which refuses a second face.
 */
export async function upsertFace(client: IsapiClient, employeeNo: string, photo: Buffer, options: UpsertFaceOptions = {}): Promise<{ via: 'setup' | 'record' }> {
  requireEmployeeNo(employeeNo, 'face.setup');
  const checked = checkFaceJpeg(photo);
  if (!checked.ok) {
    throw new IsapiError({ errorClass: 'permanent', permanentKind: 'photo', operation: 'face.setup', detail: checked.reason });
  }
  const multipart = () => buildFaceMultipart(employeeNo, checked.jpeg, options.imagePartName ? { imagePartName: options.imagePartName } : {});
  try {
    await client.request({ operation: 'face.setup', method: 'PUT', path: SETUP, multipart: multipart() });
    return { via: 'setup' };
  } catch (error) {
    if (!(error instanceof IsapiError && error.errorClass === 'unsupported')) throw error;
  }
  await deleteFace(client, employeeNo);
  await client.request({ operation: 'face.record', method: 'POST', path: RECORD, multipart: multipart() });
  return { via: 'record' };
}

/** Delete the face (the method is PUT, not DELETE); a face that is not there is fine. */
export async function deleteFace(client: IsapiClient, employeeNo: string): Promise<{ existed: boolean }> {
  requireEmployeeNo(employeeNo, 'face.delete');
  try {
    await client.request({ operation: 'face.delete', method: 'PUT', path: DELETE, json: { FPID: [{ value: employeeNo }] } });
    return { existed: true };
  } catch (error) {
    if (hasSubStatus(error, ...FACE_NOT_FOUND)) return { existed: false };
    throw error;
  }
}

export async function hasFace(client: IsapiClient, employeeNo: string): Promise<boolean> {
  requireEmployeeNo(employeeNo, 'face.search');
  const { body } = await client.request({
    operation: 'face.search',
    method: 'POST',
    path: SEARCH,
    json: { searchResultPosition: 0, maxResults: 10, faceLibType: 'blackFD', FDID: '1', FPID: employeeNo },
  });
  const result = asRecord(body?.['FDSearch']) ?? body ?? {};
  // Match FPID exactly rather than trusting numOfMatches: the filter may be ignored.
  return asArray(result['MatchList']).some((match) => asString(asRecord(match)?.['FPID']) === employeeNo);
}
