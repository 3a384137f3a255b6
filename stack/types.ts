export interface StartedService {
  /** The address clients use, as it goes into the matching environment variable. */
  url: string;
  stop(): Promise<void>;
}
