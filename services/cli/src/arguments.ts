/** A comma-separated option value as its parts, trimmed, empty parts dropped (`a, b,` → a, b). */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}
