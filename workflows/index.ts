export { countTimelineWorkflow } from './count-timeline';
export { mergeCustomersWorkflow } from './merge-customers';
