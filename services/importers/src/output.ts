/** Output selection lives in @bluelight/event-output, shared with `bluelight simulate`. */
export { OutputChoiceError, outputTargetFor } from '@bluelight/event-output';
