/**
 * The wire contract between the API, the worker and Temporal: workflow IDs,
 * search attributes, inputs and results. The string names here are stored in
 * Temporal's history and visibility; do not rename them casually.
 *
 * Everything that crosses this boundary carries IDs, counts and statuses only:
 * Temporal keeps history beyond an erasure, Postgres does not.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const searchAttributes = {
  jobType: defineSearchAttributeKey('CustodianJobType', SearchAttributeType.KEYWORD),
  jobId: defineSearchAttributeKey('CustodianJobId', SearchAttributeType.KEYWORD),
  jobStatus: defineSearchAttributeKey('CustodianJobStatus', SearchAttributeType.KEYWORD),
  customerIds: defineSearchAttributeKey('CustodianCustomerIds', SearchAttributeType.KEYWORD_LIST),
  startedBy: defineSearchAttributeKey('CustodianStartedBy', SearchAttributeType.KEYWORD),
  gdprDueAt: defineSearchAttributeKey('CustodianGdprDueAt', SearchAttributeType.DATETIME),
} as const;

export const workflowIds = {
  timelineCount: (requestId: string) => `timeline-count-${requestId}`,
} as const;

export interface CountTimelineInput {
  customerId: string;
}

export interface TimelineCounts {
  conversations: number;
  kobjects: number;
  total: number;
}

export type CountTimelineResult =
  | { status: 'completed'; counts: TimelineCounts }
  | { status: 'rejected'; code: 'CUSTOMER_NOT_FOUND' };
