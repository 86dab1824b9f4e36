export { isOom, isCudaError, errorMessage, errorText } from './classifier.js';
export { RecoveryNotifier, type RecoveryNotification, type NotificationType, type NotificationListener, type NotifierOptions } from './notifier.js';
export { RecoveryMetrics, RECOVERY_TARGET_RATE, RECOVERY_MINIMUM_RATE, type RecoveryRecord, type StrategyStats } from './metrics.js';
export {
  RecoveryLadder, RECOVERY_STRATEGIES, type RecoveryStrategy, type RecoveryAction, type StepContext, type RecoveryLadderOptions,
  type RecoveryOutcome, type StepRecord, type LadderStatus,
} from './ladder.js';
