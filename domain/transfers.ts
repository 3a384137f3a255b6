/**
 * Rules for moving items between customers, shared by the API (before a job
 * starts) and the activities (at preview and again at execution).
 */
import { DomainError } from '../lib/errors';

export function assertSomethingSelected(ids: string[], what: 'conversations' | 'kobjects'): void {
  if (ids.length === 0) {
    throw new DomainError(
      'unprocessable',
      what === 'conversations' ? 'NO_CONVERSATIONS_SELECTED' : 'NO_KOBJECTS_SELECTED',
      `Select at least one ${what === 'conversations' ? 'conversation' : 'KObject'} to move.`,
    );
  }
}

/**
 * Only conversations can be split off a timeline, and only the source's own:
 * a KObject, another customer's conversation or an unknown ID is refused,
 * all offending IDs named at once.
 */
export function assertConversationsOfSource(requested: string[], ownedBySource: Set<string>): void {
  const offending = requested.filter((id) => !ownedBySource.has(id));
  if (offending.length > 0) {
    throw new DomainError(
      'unprocessable',
      'NOT_A_CONVERSATION_OF_SOURCE',
      `These IDs are not conversations of the source customer: ${offending.join(', ')}. ` +
        'Only conversations can be split; KObjects move with POST /v1/kobject-moves.',
      { ids: offending },
    );
  }
}

export function assertKObjects(
  requested: string[],
  found: Map<string, string>,
  targetId: string,
): void {
  const unknown = requested.filter((id) => !found.has(id));
  if (unknown.length > 0) {
    throw new DomainError(
      'unprocessable',
      'NOT_A_KOBJECT',
      `These IDs are not KObjects: ${unknown.join(', ')}.`,
      {
        ids: unknown,
      },
    );
  }
  const already = requested.filter((id) => found.get(id) === targetId);
  if (already.length > 0) {
    throw new DomainError(
      'unprocessable',
      'ALREADY_ON_TARGET',
      `These KObjects already belong to the target customer: ${already.join(', ')}.`,
      { ids: already },
    );
  }
}
