export { countTimelineWorkflow } from './count-timeline';
export { mergeCustomersWorkflow } from './merge-customers';
export { moveKObjectsWorkflow } from './move-kobjects';
export { splitTimelineWorkflow } from './split-timeline';
export { trackGdprRequestWorkflow } from './gdpr-request';
