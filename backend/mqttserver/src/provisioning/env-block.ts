/**
 * What `add` and `service` print on stdout: the variables to give the device (balena device variables)
 * or the service, ready to paste. The password appears here and nowhere else; it cannot be shown again.
 */
const PLACEHOLDER_URL = 'mqtts://<broker-host>:8883';

function tlsNote(url: string): string[] {
  return /^(mqtts|wss):/.test(url)
    ? ['# TLS: the client also needs the broker CA (ca.crt) as MQTT_CA_FILE unless a public CA signed it.']
    : [];
}

export function deviceEnvBlock(o: {
  deviceId: string;
  password: string;
  mqttUrl: string | undefined;
  /** On a RabbitMQ cluster the device keeps a persistent session (quorum session queue). */
  persistentSession?: boolean;
}): string {
  const url = o.mqttUrl ?? PLACEHOLDER_URL;
  return [
    `# balena device variables of ${o.deviceId} (Dashboard → device → Device Variables, or`,
    `# \`balena env add NAME VALUE --device <uuid>\`). The password is shown once and stored nowhere.`,
    ...(o.mqttUrl ? [] : ['# MQTT_URL: set PUBLIC_MQTT_URL or pass --mqtt-url to fill it in.']),
    ...tlsNote(url),
    `MQTT_URL=${url}`,
    `MQTT_USERNAME=${o.deviceId}`,
    `MQTT_PASSWORD=${o.password}`,
    `DEVICE_ID=${o.deviceId}`,
    ...(o.persistentSession ? ['MQTT_CLEAN_SESSION=false'] : []),
  ].join('\n');
}

export function serviceEnvBlock(o: {
  account: string;
  password: string;
  mqttUrl: string | undefined;
}): string {
  return [
    `# environment of the ${o.account} service. The password is shown once and stored nowhere.`,
    ...(o.mqttUrl ? [...tlsNote(o.mqttUrl), `MQTT_URL=${o.mqttUrl}`] : []),
    `MQTT_USERNAME=${o.account}`,
    `MQTT_PASSWORD=${o.password}`,
  ].join('\n');
}
