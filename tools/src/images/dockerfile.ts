/**
 * A reader for the subset of Dockerfile syntax our images use (FROM … AS, WORKDIR, COPY [--from], RUN,
 * ENV, USER, EXPOSE, HEALTHCHECK, ENTRYPOINT/CMD in exec form), enough to rebuild what an image ships
 * (assemble.ts) and to check the files against each other (compose checks). Anything else it meets is
 * kept as an opaque instruction, so a new instruction is visible rather than silently misread.
 */
import path from 'node:path';

export interface Instruction {
  /** Upper-case keyword, e.g. `COPY`. */
  keyword: string;
  /** The rest of the (joined) line. */
  args: string;
  /** 1-based line of the instruction in the file. */
  line: number;
}

export interface CopyInstruction {
  /** Stage name or index of `--from=`, undefined for the build context. */
  from: string | undefined;
  sources: string[];
  dest: string;
}

export interface Stage {
  /** `AS <name>`, if any. */
  name: string | undefined;
  /** The image or the earlier stage it starts from. */
  base: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  file: string;
  stages: Stage[];
  /** Livepush directives (`#dev-cmd-live=`, `#dev-copy=`, `#dev-run=`) with their stage index. */
  liveDirectives: { directive: string; value: string; stage: number; line: number }[];
}

const LIVE = /^#\s*(dev-cmd-live|dev-copy|dev-run)=(.*)$/;

export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  const stages: Stage[] = [];
  const liveDirectives: Dockerfile['liveDirectives'] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const startLine = i + 1;
    let line = lines[i]!.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const live = LIVE.exec(line);
      if (live) {
        liveDirectives.push({
          directive: live[1]!,
          value: live[2]!.trim(),
          stage: stages.length - 1,
          line: startLine,
        });
      }
      continue;
    }
    // Continuation lines; comment lines inside a continued instruction are dropped, as Docker does.
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = line.slice(0, -1).trimEnd();
      i++;
      const next = lines[i]!.trim();
      if (!next.startsWith('#')) line += ' ' + next;
    }
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`${file}:${startLine}: cannot read FROM ${args}`);
      stages.push({ base: from[1]!, name: from[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (keyword === 'ARG') continue; // ARG before the first FROM
      throw new Error(`${file}:${startLine}: ${keyword} before the first FROM`);
    }
    stage.instructions.push({ keyword, args, line: startLine });
  }
  if (!stages.length) throw new Error(`${file}: no FROM`);
  return { file, stages, liveDirectives };
}

/** Words of a shell-form argument list, honouring simple quotes; `["a","b"]` is read as JSON. */
export function splitArgs(args: string): string[] {
  const trimmed = args.trim();
  if (trimmed.startsWith('[')) {
    const parsed: unknown = JSON.parse(trimmed);
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) {
      throw new Error(`not a JSON string array: ${args}`);
    }
    return parsed;
  }
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(trimmed); m; m = re.exec(trimmed)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

export function parseCopy(args: string): CopyInstruction {
  const words = splitArgs(args);
  let from: string | undefined;
  const rest: string[] = [];
  for (const w of words) {
    if (w.startsWith('--from=')) from = w.slice('--from='.length);
    else if (w.startsWith('--'))
      continue; // --chown, --chmod, --link: no effect on which files ship
    else rest.push(w);
  }
  if (rest.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  return { from, sources: rest.slice(0, -1), dest: rest.at(-1)! };
}

/** The stage `ref` names (by `AS` name or index), or undefined when it is an image. */
export function findStage(df: Dockerfile, ref: string): Stage | undefined {
  if (/^\d+$/.test(ref)) return df.stages[Number(ref)];
  return df.stages.find((s) => s.name === ref);
}

/** Stages from the root image to `stage` (FROM <earlier stage> inherits its files and settings). */
export function lineage(df: Dockerfile, stage: Stage): Stage[] {
  const chain: Stage[] = [stage];
  for (let s = findStage(df, stage.base); s; s = findStage(df, s.base)) chain.unshift(s);
  return chain;
}

export interface StageSettings {
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  entrypoint: string[];
  cmd: string[];
  expose: number[];
  healthcheck: string[] | undefined;
}

/**
 * What a stage's container runs with. Base images' own settings are not known here; the node image's
 * WORKDIR is `/`, which is what the default means.
 */
export function stageSettings(df: Dockerfile, stage: Stage): StageSettings {
  const s: StageSettings = {
    workdir: '/',
    env: {},
    user: undefined,
    entrypoint: [],
    cmd: [],
    expose: [],
    healthcheck: undefined,
  };
  for (const st of lineage(df, stage)) {
    for (const ins of st.instructions) {
      switch (ins.keyword) {
        case 'WORKDIR':
          s.workdir = path.posix.resolve(s.workdir, ins.args);
          break;
        case 'ENV':
          for (const [k, v] of envPairs(ins.args)) s.env[k] = v;
          break;
        case 'USER':
          s.user = ins.args;
          break;
        case 'ENTRYPOINT':
          s.entrypoint = splitArgs(ins.args);
          s.cmd = []; // Docker resets CMD when ENTRYPOINT is set
          break;
        case 'CMD':
          s.cmd = splitArgs(ins.args);
          break;
        case 'EXPOSE':
          s.expose.push(...splitArgs(ins.args).map((p) => Number.parseInt(p, 10)));
          break;
        case 'HEALTHCHECK': {
          const cmd = /\bCMD\s+(.*)$/.exec(ins.args);
          s.healthcheck = cmd ? splitArgs(cmd[1]!) : undefined;
          break;
        }
      }
    }
  }
  return s;
}

function envPairs(args: string): [string, string][] {
  const words = splitArgs(args);
  if (words.length === 2 && !words[0]!.includes('=')) return [[words[0]!, words[1]!]]; // ENV KEY value
  return words.map((w) => {
    const eq = w.indexOf('=');
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}
