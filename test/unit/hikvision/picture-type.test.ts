import { describe, expect, it } from 'vitest';
import { extensionForContentType, sniffPictureType } from '../../../libs/hikvision/picture-type.js';

const bytes = (...values: number[]) => Buffer.from(values);

describe('sniffPictureType', () => {
  it('recognises JPEG, PNG, GIF and WebP by their magic numbers', () => {
    expect(sniffPictureType(bytes(0xff, 0xd8, 0xff, 0xe0, 0, 0x10))).toEqual({ mime: 'image/jpeg', extension: 'jpg' });
    expect(sniffPictureType(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0))).toEqual({ mime: 'image/png', extension: 'png' });
    expect(sniffPictureType(Buffer.from('GIF89a....'))).toEqual({ mime: 'image/gif', extension: 'gif' });
    expect(sniffPictureType(Buffer.from('GIF87a....'))).toEqual({ mime: 'image/gif', extension: 'gif' });
    expect(sniffPictureType(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1'))).toEqual({ mime: 'image/webp', extension: 'webp' });
  });

  it('returns null for anything else, including truncated signatures', () => {
    expect(sniffPictureType(Buffer.alloc(0))).toBeNull();
    expect(sniffPictureType(bytes(0xff, 0xd8))).toBeNull();
    expect(sniffPictureType(bytes(0x89, 0x50, 0x4e, 0x47))).toBeNull();
    expect(sniffPictureType(Buffer.from('RIFF\x10\x00\x00\x00WAVE', 'latin1'))).toBeNull();
    expect(sniffPictureType(Buffer.from('[JPEG BYTES OMITTED]'))).toBeNull();
    expect(sniffPictureType(Buffer.from('<EventNotificationAlert/>'))).toBeNull();
  });
});

describe('extensionForContentType', () => {
  it('maps known picture types and falls back to bin', () => {
    expect(extensionForContentType('image/jpeg')).toBe('jpg');
    expect(extensionForContentType('image/pjpeg')).toBe('jpg');
    expect(extensionForContentType('IMAGE/PNG; charset=binary')).toBe('png');
    expect(extensionForContentType('application/octet-stream')).toBe('bin');
    expect(extensionForContentType('../../etc/passwd')).toBe('bin');
  });
});
