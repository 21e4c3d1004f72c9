/**
 * The seam that keeps the hardware swappable. StartStopButton only sees these two interfaces; the sysfs
 * implementation over `onoff` lives in onoff-driver.ts. A libgpiod (character device, /dev/gpiochipN)
 * driver — the kernel's successor to sysfs GPIO — can be added later behind the same interfaces without
 * touching the button logic.
 */

/** A raw (not debounced) digital input. */
export interface ButtonInput {
  /**
   * Starts watching the line; `onEdge` gets the level read after every edge (rising and falling) and the
   * monotonic time in ms it was seen. Rejects with a clear error if the line cannot be opened.
   */
  start(onEdge: (value: 0 | 1, atMs: number) => void): Promise<void>;
  /** Stops watching and releases the line. Safe to call more than once. */
  stop(): Promise<void>;
}

/** An indicator LED. `on` is the logical state; wiring polarity is the driver's business. */
export interface StatusLed {
  set(on: boolean): Promise<void>;
  /** Switches the LED off and releases the line. Safe to call more than once. */
  close(): Promise<void>;
}
