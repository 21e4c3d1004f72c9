import { commonEnv, redisEnv } from '@sensorfleet/shared/common-env';
import { env, type EnvVar } from '@sensorfleet/shared/config';

/** An integer variable that may be left unset (shared's env helpers have no optional integer). */
function optionalInt(o: { description: string; min: number; max: number }): EnvVar<number | undefined> {
  const int = env.int({ ...o, default: o.min });
  return {
    description: o.description,
    defaultText: undefined,
    required: false,
    secret: false,
    parse: (raw) => (raw === undefined || raw.trim() === '' ? undefined : int.parse(raw)),
  };
}

export const startStopButtonEnv = {
  ...redisEnv,
  BUTTON_DRIVER: env.oneOf(['gpio', 'none'], {
    default: 'gpio',
    description: '`gpio` (sysfs GPIO, needs a privileged container) or `none` (no button: the service idles)',
  }),
  BUTTON_GPIO: env.int({
    default: 17,
    min: 0,
    max: 511,
    description:
      'button input as a BCM pin number (header pin 11 = BCM 17); the sysfs number is worked out from the ' +
      'GPIO chip base (kernels ≥ 6.6: 512 + 17 on a Pi 4)',
  }),
  BUTTON_ACTIVE_LOW: env.bool({
    default: true,
    description: 'pressed reads low: button between the pin and GND with a pull-up (the usual wiring)',
  }),
  BUTTON_DEBOUNCE_MS: env.int({
    default: 50,
    min: 0,
    max: 5000,
    description: 'the line must be quiet this long before a press or release counts',
  }),
  LED_GPIO: optionalInt({
    min: 0,
    max: 511,
    description:
      'optional status LED (BCM): off = stopped, on = measuring, blinking = readings not yet delivered',
  }),
  LED_ACTIVE_LOW: env.bool({
    default: false,
    description: 'the LED lights when the pin is low (LED from 3V3 to the pin)',
  }),
  GPIO_CHIP_LABEL: env.optionalString({
    description:
      'label of the GPIO chip the BCM numbers refer to (default: detected, e.g. `pinctrl-bcm2711`, `pinctrl-rp1`)',
  }),
  ...commonEnv(9103),
};
