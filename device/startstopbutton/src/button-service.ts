import type { Logger } from 'pino';
import type { StatusLed } from './button-driver.js';
import { resolveSysfsGpio } from './gpio-numbering.js';
import { loadOnoffGpio, OnoffButtonInput, OnoffStatusLed, type OnoffGpio } from './onoff-driver.js';
import { StartStopButton, type MeasuringControl } from './start-stop-button.js';

export interface ButtonServiceConfig {
  BUTTON_DRIVER: 'gpio' | 'none';
  BUTTON_GPIO: number;
  BUTTON_ACTIVE_LOW: boolean;
  BUTTON_DEBOUNCE_MS: number;
  LED_GPIO: number | undefined;
  LED_ACTIVE_LOW: boolean;
  GPIO_CHIP_LABEL: string | undefined;
}

export interface ButtonServiceStatus {
  driver: 'gpio' | 'none';
  state: 'disabled' | 'stopped' | 'ready';
  presses: number;
  toggles: number;
  toggleErrors: number;
  button?: { bcm: number; sysfs: number; chip: string };
  led?: { bcm: number; sysfs: number };
}

/**
 * The start/stop button as a service component: picks the driver from the configuration, maps BCM numbers
 * to sysfs numbers, opens the lines and runs StartStopButton. With `BUTTON_DRIVER=none` it does nothing
 * (a device without a button). A GPIO that cannot be opened makes start() reject with an error that says
 * what to change, so the service exits non-zero instead of running without its button.
 */
export class ButtonService {
  readonly name = 'start-stop-button';
  private button: StartStopButton | undefined;
  private info: Pick<ButtonServiceStatus, 'button' | 'led'> = {};

  constructor(
    private readonly deps: {
      config: ButtonServiceConfig;
      control: MeasuringControl;
      log: Logger;
      /** Default: onoff over the real /sys/class/gpio. */
      loadGpio?: () => Promise<OnoffGpio>;
      /** Default: /sys/class/gpio. */
      sysfsRoot?: string;
    },
  ) {}

  get status(): ButtonServiceStatus {
    const b = this.button;
    return {
      driver: this.deps.config.BUTTON_DRIVER,
      state: this.deps.config.BUTTON_DRIVER === 'none' ? 'disabled' : b ? 'ready' : 'stopped',
      presses: b?.presses ?? 0,
      toggles: b?.toggles ?? 0,
      toggleErrors: b?.toggleErrors ?? 0,
      ...this.info,
    };
  }

  async start(): Promise<void> {
    const { config, log } = this.deps;
    if (config.BUTTON_DRIVER === 'none') {
      log.info('BUTTON_DRIVER=none: no start/stop button on this device; idling');
      return;
    }
    try {
      await this.open(config);
    } catch (err) {
      // The reasons (sysfs missing, not privileged, pin busy or unmapped) are spelled out in err.message.
      log.error({ err }, `start/stop button: GPIO not accessible: ${(err as Error).message}`);
      throw err;
    }
  }

  private async open(config: ButtonServiceConfig): Promise<void> {
    const { log } = this.deps;
    const resolve = (bcm: number) =>
      resolveSysfsGpio(bcm, { chipLabel: config.GPIO_CHIP_LABEL, sysfsRoot: this.deps.sysfsRoot });
    const gpio = await (this.deps.loadGpio ?? loadOnoffGpio)();
    const buttonLine = await resolve(config.BUTTON_GPIO);
    this.info.button = {
      bcm: config.BUTTON_GPIO,
      sysfs: buttonLine.sysfsNumber,
      chip: buttonLine.chip.label,
    };
    let led: StatusLed | undefined;
    if (config.LED_GPIO !== undefined) {
      const ledLine = await resolve(config.LED_GPIO);
      led = await OnoffStatusLed.open({
        sysfsNumber: ledLine.sysfsNumber,
        factory: gpio.factory,
        isAccessible: gpio.isAccessible,
        activeLow: config.LED_ACTIVE_LOW,
      });
      this.info.led = { bcm: config.LED_GPIO, sysfs: ledLine.sysfsNumber };
    }
    const button = new StartStopButton({
      input: new OnoffButtonInput({
        sysfsNumber: buttonLine.sysfsNumber,
        factory: gpio.factory,
        isAccessible: gpio.isAccessible,
        onError: (err) => log.warn({ err }, 'button GPIO error'),
      }),
      debounce: { debounceMs: config.BUTTON_DEBOUNCE_MS, activeLow: config.BUTTON_ACTIVE_LOW },
      control: this.deps.control,
      led,
      log,
    });
    try {
      await button.start();
    } catch (err) {
      await led?.close().catch(() => {});
      throw err;
    }
    this.button = button;
    log.info(this.info, 'start/stop button on GPIO');
  }

  async stop(): Promise<void> {
    const button = this.button;
    this.button = undefined;
    await button?.stop();
  }
}
