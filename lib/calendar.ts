/** The date and clock fields of a matched `YYYY-MM-DD hh:mm:ss` (groups 1 to 6). */
export function clockParts(match: RegExpExecArray) {
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) =>
    Number(match[i]),
  ) as [number, number, number, number, number, number];
  return { year, month, day, hour, minute, second };
}

/** Whether the fields name a real day and a time of it (no 30 February, no 24:00, no leap second). */
export function isCalendarTime({
  year,
  month,
  day,
  hour,
  minute,
  second,
}: ReturnType<typeof clockParts>): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    year >= 1 &&
    month >= 1 &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60
  );
}
