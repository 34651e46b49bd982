/**
 * CSV as RFC 4180 says (CRLF rows, quotes doubled, a field quoted when it holds a quote, comma or
 * line break), and safe to open in a spreadsheet: a cell that starts like a formula (= + - @, or
 * a tab / carriage return) gets a leading apostrophe, so a device-supplied name such as
 * `=HYPERLINK(...)` is shown as text, never evaluated.
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(values: (string | number | null | undefined)[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
