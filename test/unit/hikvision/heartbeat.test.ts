import { describe, expect, it } from 'vitest';
import { eventFamily, isHeartbeat } from '../../../libs/hikvision/heartbeat.js';

describe('isHeartbeat', () => {
  const hb = (eventType: string | null, eventState: string | null, activePostCount: number | null) =>
    isHeartbeat({ eventType, eventState, activePostCount });

  it('treats heartBeat in any case as a heartbeat', () => {
    expect(hb('heartBeat', 'active', null)).toBe(true);
    expect(hb('HEARTBEAT', null, null)).toBe(true);
  });

  it('treats videoloss/inactive as the idle heartbeat', () => {
    expect(hb('videoloss', 'inactive', 0)).toBe(true);
    expect(hb('videoLoss', 'Inactive', null)).toBe(true);
  });

  it('keeps the first notice of a video loss and drops its repeats', () => {
    expect(hb('videoloss', 'active', 1)).toBe(false);
    expect(hb('videoloss', 'active', null)).toBe(false);
    expect(hb('videoloss', 'active', 0)).toBe(false);
    expect(hb('videoloss', 'active', 2)).toBe(true);
    expect(hb('videoloss', 'active', 3062)).toBe(true);
  });

  it('never treats other events as heartbeats, however often they repeat', () => {
    expect(hb('VMD', 'active', 500)).toBe(false);
    expect(hb('VMD', 'inactive', 0)).toBe(false);
    expect(hb('AccessControllerEvent', 'active', 1)).toBe(false);
    expect(hb(null, null, null)).toBe(false);
  });
});

describe('eventFamily', () => {
  it.each([
    ['VMD', 'motion'],
    ['motiondetection', 'motion'],
    ['fielddetection', 'intrusion'],
    ['linedetection', 'intrusion'],
    ['regionEntrance', 'intrusion'],
    ['regionExiting', 'intrusion'],
    ['ANPR', 'vehicle'],
    ['vehiclePassingInParkingLot', 'vehicle'],
    ['vehicleDetection', 'vehicle'],
    ['IO', 'io'],
    ['io', 'io'],
    ['videoloss', 'video'],
    ['shelteralarm', 'video'],
    ['PeopleCounting', 'people_counting'],
    ['AccessControllerEvent', 'access_control'],
    ['heartBeat', 'heartbeat'],
    ['PIR', 'other'],
    ['somethingNew', 'other'],
  ] as const)('%s → %s', (eventType, family) => {
    expect(eventFamily(eventType)).toBe(family);
  });

  it('maps duration to the family of its relationEvent', () => {
    expect(eventFamily('duration', 'fielddetection')).toBe('intrusion');
    expect(eventFamily('Duration', 'VMD')).toBe('motion');
    expect(eventFamily('duration', null)).toBe('other');
    expect(eventFamily('duration', 'duration')).toBe('other');
  });

  it('maps a missing eventType to other', () => {
    expect(eventFamily(null)).toBe('other');
  });
});
