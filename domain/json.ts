/**
 * Bounds on free-form JSON that users store (custom attributes, KObject data).
 * Deeper or bigger documents are refused: they break clients that read them
 * back, and recursive code (serialisers, Postgres' jsonb) runs out of stack.
 */

export interface JsonLimits {
  /** Levels of nesting; `{}` or `{"a": 1}` is depth 1, `{"a": {"b": 1}}` depth 2. */
  maxDepth: number;
  /** Size as UTF-8 JSON text. */
  maxBytes: number;
}

export const jsonLimits = {
  /** `customAttributes` of customers and companies. */
  attributes: { maxDepth: 10, maxBytes: 16 * 1024 },
  /** A KObject's `data`. */
  kobjectData: { maxDepth: 10, maxBytes: 64 * 1024 },
} as const satisfies Record<string, JsonLimits>;

/**
 * The nesting depth of a JSON value, without recursion (a hostile document
 * must not be able to exhaust the stack); stops counting past `stopAt`.
 */
export function jsonDepth(value: unknown, stopAt = Infinity): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > stopAt) return deepest;
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/**
 * The nesting depth of JSON text, read character by character before the
 * text is parsed; stops counting past `stopAt`.
 */
export function jsonTextDepth(text: string, stopAt = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAt) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/** Why `value` breaks `limits`, or undefined when it fits. */
export function jsonLimitProblem(value: unknown, limits: JsonLimits): string | undefined {
  if (jsonDepth(value, limits.maxDepth) > limits.maxDepth) {
    return `must not be nested more than ${limits.maxDepth} levels deep`;
  }
  if (Buffer.byteLength(JSON.stringify(value)) > limits.maxBytes) {
    return `must not be larger than ${limits.maxBytes / 1024} KB as JSON`;
  }
  return undefined;
}
