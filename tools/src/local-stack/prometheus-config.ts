/**
 * prometheus.yml of the local stack: every service the stack runs, under the job names the shipped
 * device and backend configs use (device/prometheus, backend/prometheus), so their dashboards' queries
 * work against it too. 15 s like the backend's; runtime histograms kept (there is no SD card to spare).
 */
export function localPrometheusConfig(targets: { job: string; port: number }[]): string {
  const jobs = new Map<string, number[]>();
  for (const t of targets) jobs.set(t.job, [...(jobs.get(t.job) ?? []), t.port]);
  const lines = [
    'global:',
    '  scrape_interval: 15s',
    '  scrape_timeout: 10s',
    '  evaluation_interval: 15s',
    'scrape_configs:',
  ];
  for (const [job, ports] of jobs) {
    lines.push(
      `  - job_name: ${JSON.stringify(job)}`,
      '    static_configs:',
      `      - targets: [${ports.map((p) => `'127.0.0.1:${p}'`).join(', ')}]`,
    );
  }
  return `${lines.join('\n')}\n`;
}
