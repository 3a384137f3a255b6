/**
 * A pure unit test (no services): renders one example of each job notice
 * email from fixed job rows and keeps its text and HTML as files beside this
 * test, so a change to what people read shows in review as a diff. The HTML
 * files were looked at in a browser (a headless Chromium screenshot) once.
 */
import { describe, expect, it } from 'vitest';
import type { JobRow } from '../../db/queries/job-rows';
import { noticeEmail } from '../../notifications/email';
import { jobNotice } from '../../notifications/job-notice';

const at = (minute: number, second = 0) => new Date(Date.UTC(2026, 11, 2, 9, minute, second));

function job(overrides: Partial<JobRow>): JobRow {
  return {
    id: '0b6e3f0e-5a55-4d36-9a43-6c2f1d0e8a11',
    type: 'bulk_delete',
    status: 'completed',
    startedBy: '7d0c2a4e-91f1-4c1b-8d27-3f3c2b1a0e55',
    params: {},
    preview: null,
    progressTotal: 0,
    progressDone: 0,
    progressFailed: 0,
    result: null,
    error: null,
    workflowId: 'bulk-delete-0b6e3f0e-5a55-4d36-9a43-6c2f1d0e8a11',
    idempotencyKey: null,
    createdAt: at(0),
    updatedAt: at(3, 12),
    expiresAt: null,
    completedAt: at(3, 12),
    outcomeToldBy: null,
    ...overrides,
  };
}

const examples: Record<string, { row: JobRow; status: string; savedSearchName?: string }> = {
  'bulk-erasure-completed': {
    row: job({
      params: { entity: 'customer', savedSearchId: 'a1f3c1d2-0000-4000-8000-000000000001' },
      progressTotal: 400,
      progressDone: 398,
      progressFailed: 2,
      result: { counts: { customers: 398, conversations: 1990, searchesRemoved: 0 } },
    }),
    status: 'completed',
    savedSearchName: 'Drillset',
  },
  'bulk-erasure-cancelled': {
    row: job({
      status: 'cancelled',
      params: { entity: 'conversation', ids: ['x', 'y'] },
      progressTotal: 30,
      progressDone: 12,
    }),
    status: 'cancelled',
  },
  'merge-completed': {
    row: job({
      type: 'merge',
      workflowId: 'merge-0b6e3f0e-5a55-4d36-9a43-6c2f1d0e8a11',
      params: {
        sourceCustomerId: '5f1d7d8e-1111-4a2b-9c3d-000000000001',
        targetCustomerId: '5f1d7d8e-2222-4a2b-9c3d-000000000002',
      },
      result: {
        counts: { conversations: 14, kobjects: 3, events: 0, emailsAdded: 1, phonesAdded: 0 },
      },
      updatedAt: at(0, 9),
      completedAt: at(0, 9),
    }),
    status: 'completed',
  },
  'delete-failed': {
    row: job({
      type: 'delete',
      status: 'failed',
      workflowId: 'delete-0b6e3f0e-5a55-4d36-9a43-6c2f1d0e8a11',
      params: { entity: 'customer', id: '5f1d7d8e-1111-4a2b-9c3d-000000000001' },
      error: { code: 'DELETE_FAILED', message: 'The deletion could not be completed' },
    }),
    status: 'failed',
  },
};

describe('job notice emails, as people read them', () => {
  for (const [name, { row, status, savedSearchName }] of Object.entries(examples)) {
    it(`renders ${name}`, async () => {
      const told = jobNotice(
        {
          job: row,
          starterName: 'Dana Admin',
          savedSearchName: savedSearchName ?? null,
          publicUrl: 'https://custodian.example.com',
          temporalUiUrl: `https://temporal.example.com/namespaces/default/workflows/${row.workflowId}`,
        },
        status,
      );
      const email = noticeEmail(told);
      await expect(`Subject: ${email.subject}\n\n${email.text}`).toMatchFileSnapshot(
        `examples/${name}.txt`,
      );
      await expect(email.html).toMatchFileSnapshot(`examples/${name}.html`);
    });
  }
});
