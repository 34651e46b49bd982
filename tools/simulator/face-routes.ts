import { splitMultipart } from '../../libs/hikvision/multipart.js';
import { fail } from './error-tuples.js';
import { pageOf, readMaxResults } from './paged-search.js';
import { jsonOk, jsonReply, OK_STATUS, type Reply } from './responses.js';
import { jsonCapabilitiesRoute, SUPPORTED_FUNCTIONS, type RequestContext, type Route } from './routing.js';
import type { JsonObject, SimFace, TerminalStore } from './store.js';
import { checkEmployeeNo, parseJsonBody, parseJsonObject, requireList } from './validation.js';

/**
 * /ISAPI/Intelligent/FDLib/* for the access terminal's face library (blackFD, FDID 1, FPID =
 * employeeNo) and the enrolment pictures under /LOCALS/pic/enrlFace/.
 */

export const MAX_FACE_BYTES = 200 * 1024;
export const MIN_FACE_BYTES = 1024;
const MAX_FD_SEARCH_RESULTS = 50;
const IMAGE_PART_NAMES = new Set(['img', 'FaceImage']);

/** The order in which a terminal complains; oversize gets the misleading "faceURL" format error. */
export function checkFaceImage(bytes: Buffer): void {
  if (bytes.length > MAX_FACE_BYTES) throw fail('badJsonFormat', 'faceURL');
  if (!(bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)) throw fail('picFormatError', 'img');
  if (bytes.length < MIN_FACE_BYTES) throw fail('pictureFaceDetectZero', 'img');
}

interface FaceUpload {
  record: JsonObject;
  image: Buffer | null;
}

/** Multipart (JSON part `FaceDataRecord` first, then the picture) or a bare JSON body. */
async function readFaceUpload(request: RequestContext): Promise<FaceUpload> {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^multipart\//i.test(contentType)) return { record: parseJsonBody(request), image: null };
  const parts = await splitMultipart(contentType, request.body).catch(() => {
    throw fail('badJsonFormat', 'multipart');
  });
  const [first] = parts;
  // "The order and the names of the parts matter": the record must come first.
  if (first?.name !== 'FaceDataRecord') throw fail('MessageParametersLack', 'FaceDataRecord');
  const image = parts.slice(1).find((part) => IMAGE_PART_NAMES.has(part.name ?? '') || part.declaredType === 'image/jpeg');
  return { record: parseJsonObject(first.bytes.toString('utf8')), image: image?.bytes ?? null };
}

type FaceTarget = Pick<SimFace, 'FPID' | 'FDID' | 'faceLibType'>;

function readFaceTarget(store: TerminalStore, record: JsonObject): FaceTarget {
  if (record.faceLibType !== 'blackFD') throw fail('badJsonContent', 'faceLibType');
  const FDID = String(record.FDID ?? '');
  if (FDID !== '1') throw fail('badJsonContent', 'FDID');
  if (record.FPID === undefined) throw fail('MessageParametersLack', 'FPID');
  const FPID = checkEmployeeNo(record.FPID);
  if (!store.users.has(FPID)) throw fail('employeeNoNotExist', 'FPID');
  return { FPID, FDID, faceLibType: 'blackFD' };
}

function requireImage(upload: FaceUpload): Buffer {
  if (upload.image) return upload.image;
  // The device would download faceURL itself; the simulator only takes uploaded pictures.
  if (typeof upload.record.faceURL === 'string') throw fail('notSupport', 'faceURL');
  throw fail('MessageParametersLack', 'img');
}

/** The upload of a FaceDataRecord or FDSetUp and the face it is for. */
async function readFaceWrite(store: TerminalStore, request: RequestContext): Promise<{ upload: FaceUpload; target: FaceTarget }> {
  const upload = await readFaceUpload(request);
  return { upload, target: readFaceTarget(store, upload.record) };
}

/** Stores a checked picture as the face of `target` if the library has room for it. */
function saveFace(store: TerminalStore, target: FaceTarget, image: Buffer): Reply {
  if (!store.faces.has(target.FPID) && store.faces.size >= store.capacity.faces) throw fail('deviceFaceFull');
  store.faces.set(target.FPID, { ...target, bytes: image });
  return jsonOk({ FPID: target.FPID });
}

const faceUrl = (request: RequestContext, FPID: string): string => `http://${request.headers.host ?? '127.0.0.1'}/LOCALS/pic/enrlFace/${encodeURIComponent(FPID)}.jpg`;

export function faceRoutes(store: TerminalStore): Route[] {
  const base = '/ISAPI/Intelligent/FDLib';
  return [
    jsonCapabilitiesRoute(base, () => ({
      FDRecordDataMaxNum: store.capacity.faces,
      supportFDFunction: SUPPORTED_FUNCTIONS,
      faceLibType: { '@opt': 'blackFD' },
      FDNameMaxLen: 64,
      customInfoMaxLen: 32,
    })),
    {
      method: 'GET',
      path: `${base}/Count`,
      family: 'json',
      handle: () => jsonReply({ ...OK_STATUS, FDRecordDataInfo: [{ FDID: '1', faceLibType: 'blackFD', recordDataNumber: store.faces.size }] }),
    },
    {
      method: 'POST',
      path: `${base}/FaceDataRecord`,
      family: 'json',
      handle: async (request) => {
        const { upload, target } = await readFaceWrite(store, request);
        const image = requireImage(upload);
        checkFaceImage(image);
        if (store.faces.has(target.FPID)) throw fail('deviceUserAlreadyExistFace', 'FPID');
        return saveFace(store, target, image);
      },
    },
    {
      method: 'PUT',
      path: `${base}/FDSetUp`,
      family: 'json',
      handle: async (request) => {
        const { upload, target } = await readFaceWrite(store, request);
        if (upload.record.deleteFP === true) {
          store.faces.delete(target.FPID);
          return jsonOk();
        }
        const image = requireImage(upload);
        // A rejected picture leaves the previous face in place.
        checkFaceImage(image);
        return saveFace(store, target, image);
      },
    },
    {
      method: 'PUT',
      path: `${base}/FDSearch/Delete`,
      family: 'json',
      handle: (request) => {
        if (request.query.get('faceLibType') !== 'blackFD' || request.query.get('FDID') !== '1') throw fail('badParameters', 'FDID');
        const fpids = requireList(parseJsonBody(request).FPID, 'value', 'FPID');
        const deleted = fpids.filter((FPID) => store.faces.delete(FPID));
        // Nothing listed was there: the device says so; clients treat it as success.
        if (deleted.length === 0) throw fail('deleteNoExistFace', 'FPID');
        return jsonOk();
      },
    },
    {
      method: 'POST',
      path: `${base}/FDSearch`,
      family: 'json',
      handle: (request) => {
        const cond = parseJsonBody(request);
        const maxResults = readMaxResults(cond, MAX_FD_SEARCH_RESULTS);
        const position = Number.isInteger(cond.searchResultPosition) ? (cond.searchResultPosition as number) : 0;
        const FPID = typeof cond.FPID === 'string' && cond.FPID !== '' ? cond.FPID : null;
        const faces = [...store.faces.values()].filter((face) => FPID === null || face.FPID === FPID);
        const page = pageOf(faces, { searchID: String(cond.searchID ?? ''), position, maxResults });
        return jsonReply({
          ...OK_STATUS,
          responseStatusStrg: page.responseStatusStrg,
          numOfMatches: page.numOfMatches,
          totalMatches: page.totalMatches,
          ...(page.rows.length ? { MatchList: page.rows.map((face) => ({ FPID: face.FPID, faceURL: faceUrl(request, face.FPID), modelData: '' })) } : {}),
        });
      },
    },
    {
      method: 'GET',
      path: /^\/LOCALS\/pic\/enrlFace\/([^/]+)\.jpg$/,
      family: 'xml',
      handle: (_request, [FPID = '']): Reply => {
        const face = store.faces.get(FPID);
        if (!face) throw fail('notSupport');
        return { status: 200, contentType: 'image/jpeg', body: face.bytes };
      },
    },
  ];
}
