/**
 * Rebuilds, without a Docker engine, the folder an image's runtime stage ships: the files its COPY lines
 * take from the build context (after the ignore file, as BuildKit applies it) and from earlier stages,
 * with the production dependencies installed by running that stage's own `npm ci --omit=dev …` line.
 * Starting the image's command from this folder then proves the image holds everything the service loads
 * at run time (a runtime import of a dev dependency, or a file no COPY line takes, fails there).
 *
 * Emulated RUN lines: `npm ci …` (run as written, in the stage's folder), `npx tsc -b <project>…` (the
 * repository's own `npm run build` output of each project and its references is taken: tsc's output
 * does not depend on where it runs) and `npm run build --workspace=<ws>` (the workspace's build script
 * writes into its dist/, which the repository's `npm run build` has run too, so that dist is taken).
 * Several of these may be chained with `&&`. Package-manager lines (`apt-get`) install system packages of
 * the base image and are skipped. Any other RUN in a stage the runtime copies from is an error.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dockerignore from '@balena/dockerignore';
import {
  findStage,
  lineage,
  parseCopy,
  parseDockerfile,
  stageSettings,
  type Dockerfile,
  type Stage,
  type StageSettings,
} from './dockerfile.js';

export interface AssembleOptions {
  /** The Dockerfile (absolute, or relative to the context). */
  dockerfile: string;
  /** The build context: the repository root for our Node images. */
  context: string;
  /** Folder to fill; created, must not exist or be empty. Default: a new temp dir. */
  outDir?: string;
  log?: (line: string) => void;
}

export interface AssembledImage {
  /** The runtime stage's WORKDIR, as a folder on this machine. */
  dir: string;
  settings: StageSettings;
  /** ENTRYPOINT + CMD, as the container runs it. */
  command: string[];
  /** RUN lines that were not emulated (system packages), for the record. */
  skipped: string[];
}

const SKIPPED_RUN = /^(apt-get|apk|rm|chmod|chown|mkdir|ln)\b/;

/** The ignore file BuildKit uses for this Dockerfile: `<Dockerfile>.dockerignore` next to it, else the context's. */
export function ignoreFileFor(dockerfile: string, context: string): string | undefined {
  const own = `${dockerfile}.dockerignore`;
  if (existsSync(own)) return own;
  const root = path.join(context, '.dockerignore');
  return existsSync(root) ? root : undefined;
}

/** A predicate over context-relative POSIX paths: true when the file is in the build context. */
export function contextFilter(dockerfile: string, context: string): (rel: string) => boolean {
  const file = ignoreFileFor(dockerfile, context);
  if (!file) return () => true;
  // CommonJS module: its default export is also its `default` property.
  const ig = dockerignore.default({}).add(
    readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
  return (rel) => !ig.ignores(rel);
}

/** Context-relative files under `rel` (a file or a folder) that are in the build context. */
function contextFiles(context: string, rel: string, inContext: (rel: string) => boolean): string[] {
  const abs = path.join(context, rel);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return inContext(rel) ? [rel] : [];
  const out: string[] = [];
  const walk = (dirRel: string) => {
    for (const entry of readdirSync(path.join(context, dirRel), { withFileTypes: true })) {
      const childRel = path.posix.join(dirRel, entry.name);
      if (entry.isDirectory()) {
        // A folder that is ignored as a whole may still hold re-included files (`!`), so walk it anyway
        // unless it is one of the big ones that no image takes from the context.
        if (entry.name === 'node_modules' || entry.name === '.git') continue;
        walk(childRel);
      } else if (inContext(childRel)) {
        out.push(childRel);
      }
    }
  };
  walk(rel.replace(/\/+$/, '') || '.');
  return out;
}

/** Destination of a COPY: absolute in the image, resolved against the stage's WORKDIR. */
function imagePath(workdir: string, dest: string): string {
  return path.posix.resolve(workdir, dest);
}

class StageFolder {
  /** Image path → folder on this machine, for the stage's root of interest (its WORKDIR). */
  readonly root: string;
  constructor(
    readonly workdir: string,
    dir: string,
  ) {
    this.root = dir;
  }
  /** Paths outside the WORKDIR (config files under /etc, /usr/local/bin scripts) go to `.image-root/`. */
  local(imageAbs: string): string {
    const rel = path.posix.relative(this.workdir, imageAbs);
    if (rel === '..' || rel.startsWith('../')) return path.join(this.root, '.image-root', imageAbs);
    return path.join(this.root, rel);
  }
}

export class ImageAssembler {
  private readonly df: Dockerfile;
  private readonly dockerfile: string;
  private readonly inContext: (rel: string) => boolean;
  private readonly skipped: string[] = [];
  private readonly log: (line: string) => void;
  private readonly temp: string[] = [];
  /** Stages already assembled, by `<ref>:<with deps>`. */
  private readonly stages = new Map<string, StageFolder>();

  constructor(private readonly opts: AssembleOptions) {
    this.dockerfile = path.resolve(opts.context, opts.dockerfile);
    this.df = parseDockerfile(
      readFileSync(this.dockerfile, 'utf8'),
      path.relative(opts.context, this.dockerfile),
    );
    this.inContext = contextFilter(this.dockerfile, opts.context);
    this.log = opts.log ?? (() => {});
  }

  get parsed(): Dockerfile {
    return this.df;
  }

  assemble(): AssembledImage {
    const runtime = this.df.stages.at(-1)!;
    const settings = stageSettings(this.df, runtime);
    const dir = this.opts.outDir ?? mkdtempSync(path.join(os.tmpdir(), 'sf-image-'));
    mkdirSync(dir, { recursive: true });
    if (readdirSync(dir).length) throw new Error(`${dir} is not empty`);
    try {
      this.fill(runtime, new StageFolder(settings.workdir, dir), { installDeps: true, runtime: true });
    } finally {
      for (const t of this.temp) rmSync(t, { recursive: true, force: true });
    }
    return { dir, settings, command: [...settings.entrypoint, ...settings.cmd], skipped: this.skipped };
  }

  /**
   * Applies the instructions of `stage` and the stages it starts from to `into`. `installDeps` false
   * skips `npm ci` (a stage the runtime takes only tsc output from needs no dev dependencies here).
   */
  private fill(stage: Stage, into: StageFolder, o: { installDeps: boolean; runtime: boolean }): void {
    // WORKDIR carries over from the stage a stage starts from, as in Docker.
    let workdir = '/';
    for (const st of lineage(this.df, stage)) {
      for (const ins of st.instructions) {
        if (ins.keyword === 'WORKDIR') workdir = path.posix.resolve(workdir, ins.args);
        if (ins.keyword === 'COPY') this.copy(parseCopy(ins.args), workdir, into, ins.line);
        if (ins.keyword === 'RUN') this.run(ins.args, into, ins.line, o);
      }
    }
  }

  private copy(c: ReturnType<typeof parseCopy>, workdir: string, into: StageFolder, line: number): void {
    const destAbs = imagePath(workdir, c.dest);
    const destIsDir = c.dest.endsWith('/') || c.sources.length > 1;
    if (c.from === undefined) {
      for (const src of c.sources) {
        const rel = path.posix.normalize(src).replace(/^\.\//, '');
        const files = contextFiles(this.opts.context, rel, this.inContext);
        if (!files.length) {
          throw new Error(
            `${this.df.file}:${line}: COPY ${src}: nothing in the build context (missing or ignored)`,
          );
        }
        const srcIsDir = statSync(path.join(this.opts.context, rel)).isDirectory();
        for (const f of files) {
          const target = srcIsDir
            ? path.posix.join(destAbs, path.posix.relative(rel.replace(/\/+$/, ''), f))
            : destIsDir
              ? path.posix.join(destAbs, path.posix.basename(f))
              : destAbs;
          const local = into.local(target);
          mkdirSync(path.dirname(local), { recursive: true });
          cpSync(path.join(this.opts.context, f), local, { preserveTimestamps: true });
        }
      }
      return;
    }
    const from = findStage(this.df, c.from);
    if (!from)
      throw new Error(
        `${this.df.file}:${line}: COPY --from=${c.from}: images other than stages are not supported`,
      );
    const fromWorkdir = stageSettings(this.df, from).workdir;
    // Only a copy that takes node_modules needs the stage's dependencies installed.
    const needsDeps = c.sources.some((s) => {
      const rel = path.posix.relative(fromWorkdir, path.posix.resolve(fromWorkdir, s));
      return rel === '' || rel === 'node_modules' || rel.startsWith('node_modules/');
    });
    const key = `${c.from}:${needsDeps}`;
    let stageDir = this.stages.get(key);
    if (!stageDir) {
      const tmp = mkdtempSync(path.join(os.tmpdir(), `sf-stage-${from.name ?? c.from}-`));
      this.temp.push(tmp);
      stageDir = new StageFolder(fromWorkdir, tmp);
      this.log(`stage ${from.name ?? c.from}: assembling${needsDeps ? ' with npm ci' : ''}`);
      this.fill(from, stageDir, { installDeps: needsDeps, runtime: false });
      this.stages.set(key, stageDir);
    }
    for (const src of c.sources) {
      const local = stageDir.local(path.posix.resolve(fromWorkdir, src));
      if (!existsSync(local))
        throw new Error(`${this.df.file}:${line}: COPY --from=${c.from} ${src}: stage has no such path`);
      const target =
        statSync(local).isDirectory() || !destIsDir
          ? destAbs
          : path.posix.join(destAbs, path.basename(local));
      const dest = into.local(target);
      mkdirSync(path.dirname(dest), { recursive: true });
      cpSync(local, dest, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    }
  }

  private run(
    cmd: string,
    into: StageFolder,
    line: number,
    o: { installDeps: boolean; runtime: boolean },
  ): void {
    const steps = cmd.split(/\s+&&\s+/);
    if (steps.length > 1) {
      // A skipped step (apt-get …) skips its whole line, as before; the others run one by one.
      if (steps.some((s) => SKIPPED_RUN.test(s))) {
        if (!this.skipped.includes(cmd)) this.skipped.push(cmd);
        return;
      }
      for (const step of steps) this.run(step, into, line, o);
      return;
    }
    const npmBuild = /^npm run build --workspace=(\S+)$/.exec(cmd);
    if (npmBuild) {
      this.takeBuildOutput(npmBuild[1]!, into, line);
      return;
    }
    const npmCi = /^npm ci\b(.*)$/.exec(cmd);
    if (npmCi) {
      if (!o.installDeps) return;
      const args = ['ci', ...npmCi[1]!.trim().split(/\s+/).filter(Boolean), '--prefer-offline'];
      this.log(`npm ${args.join(' ')}`);
      const r = spawnSync('npm', args, { cwd: into.root, encoding: 'utf8', env: npmEnv() });
      if (r.status !== 0) {
        throw new Error(`${this.df.file}:${line}: npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
      }
      return;
    }
    const tsc = /^npx tsc -b\s+(.+)$/.exec(cmd);
    if (tsc) {
      for (const ws of tsc[1]!.trim().split(/\s+/)) this.takeBuildOutput(ws, into, line);
      return;
    }
    if (SKIPPED_RUN.test(cmd)) {
      if (!this.skipped.includes(cmd)) this.skipped.push(cmd);
      return;
    }
    throw new Error(`${this.df.file}:${line}: RUN ${cmd}: the assembler cannot emulate this line`);
  }

  /**
   * A project's output (its tsconfig's outDir, default dist/) and those of its project references, from
   * the repository's build.
   */
  private takeBuildOutput(ws: string, into: StageFolder, line: number, seen = new Set<string>()): void {
    const rel = path.posix.normalize(ws).replace(/\/+$/, '');
    if (seen.has(rel)) return;
    seen.add(rel);
    const tsconfig = readTsconfig(path.join(this.opts.context, rel, 'tsconfig.json'));
    const outRel = path.posix.normalize(path.posix.join(rel, tsconfig.compilerOptions?.outDir ?? 'dist'));
    const dist = path.join(this.opts.context, outRel);
    if (!existsSync(dist)) {
      throw new Error(`${this.df.file}:${line}: ${outRel} is missing: run \`npm run build\` first`);
    }
    const target = into.local(path.posix.join(into.workdir, outRel));
    mkdirSync(path.dirname(target), { recursive: true });
    cpSync(dist, target, { recursive: true, preserveTimestamps: true });
    for (const ref of tsconfig.references ?? []) {
      this.takeBuildOutput(path.posix.join(rel, ref.path), into, line, seen);
    }
  }
}

/** A tsconfig.json, which may hold `//` comments (tsc reads JSONC). */
function readTsconfig(file: string): {
  compilerOptions?: { outDir?: string };
  references?: { path: string }[];
} {
  const text = readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '');
  try {
    return JSON.parse(text) as { compilerOptions?: { outDir?: string }; references?: { path: string }[] };
  } catch (err) {
    throw new Error(`${file}: cannot read (${(err as Error).message})`);
  }
}

/** npm as the image runs it: no audit or fund calls, no user config that points elsewhere. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' };
  for (const k of Object.keys(env))
    if (k.startsWith('npm_package_') || k === 'npm_config_workspace') delete env[k];
  return env;
}

export function assembleImage(opts: AssembleOptions): AssembledImage {
  return new ImageAssembler(opts).assemble();
}
