export { countTimelineWorkflow } from './count-timeline';
export {
  mergeCustomersWorkflow,
  moveKObjectsWorkflow,
  splitTimelineWorkflow,
} from './confirmable-job';
