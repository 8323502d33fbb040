/**
 * Cross-instance delivery between the plugin's instances (Redis pub/sub). Messages are
 * JSON-serialisable values; handlers of one channel run in publish order.
 */
export interface MessageBus {
  /** Deliver `message` to every subscriber of `channel`, on every instance. */
  publish (channel: string, message: unknown): Promise<void>
  /** Resolves once the subscription is active (messages published after that are received). */
  subscribe (channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>>
  close (): Promise<void>
}
