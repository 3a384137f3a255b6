export { countTimelineWorkflow } from './count-timeline';
export {
  mergeCustomersWorkflow,
  moveKObjectsWorkflow,
  splitTimelineWorkflow,
  undoMergeWorkflow,
} from './confirmable-job';
export { bulkDeleteWorkflow } from './bulk-delete';
export { deleteObjectWorkflow } from './delete-object';
export { trackGdprRequestWorkflow } from './gdpr-request';
export { reconcileJobsWorkflow } from './reconcile-jobs';
export { clearAttributeWorkflow } from './clear-attribute';
export { exportCustomerWorkflow } from './export-customer';
export { jobCustomersWorkflow } from './job-customers';
