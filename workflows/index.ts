export { countTimelineWorkflow } from './count-timeline';
