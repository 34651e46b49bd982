/**
 * MAC addresses as devices send them: `bc:5e:33:5c:3a:db`, upper case, `-` separated, single-digit
 * groups (`3c:0`), or with a sign-extension bug in the firmware that prints bytes ≥ 0x80 as
 * 32-bit negatives (`ffffffe8:ffffffa0:ffffffed:3c:0`).
 */

const SIGN_EXTENDED_BYTE = /^f{6}[0-9a-f]{2}$/;
const PLAIN_BYTE = /^[0-9a-f]{1,2}$/;
const BARE_HEX = /^[0-9a-f]{12}$/;

/** Lowercase `aa:bb:cc:dd:ee:ff`, or null unless exactly six bytes can be read. */
export function normalizeMacAddress(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const text = raw.trim().toLowerCase();
  if (text === '') return null;
  if (BARE_HEX.test(text)) return text.match(/../g)!.join(':');

  const groups = text.split(/[:-]/);
  if (groups.length !== 6) return null;
  const bytes: string[] = [];
  for (const group of groups) {
    if (PLAIN_BYTE.test(group)) bytes.push(group.padStart(2, '0'));
    else if (SIGN_EXTENDED_BYTE.test(group)) bytes.push(group.slice(-2));
    else return null;
  }
  return bytes.join(':');
}
