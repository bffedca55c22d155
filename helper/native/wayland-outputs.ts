/**
 * The compositor's monitors (`wl_output` globals, one per monitor) and which one a screen cast
 * shows. A virtual pointer's absolute motion spans the whole layout unless the pointer is bound
 * to one output; the ScreenCast portal says the cast's size but, on wlroots, not where it sits
 * (xdg-desktop-portal-wlr answers every stream with position 0,0), so the shared monitor is
 * found by its size and the pointer bound to it.
 */
import { readString, type WaylandClient } from './wayland-client';

export const WL_OUTPUT = 'wl_output';
/** Where each output sits: wlroots puts every wl_output at 0,0 and says the layout here. */
export const XDG_OUTPUT_MANAGER = 'zxdg_output_manager_v1';

export interface WaylandOutput {
  /** The bound wl_output object: what a virtual pointer is bound to. */
  id: number;
  /** The compositor's name for it (HEADLESS-1, DP-2), from wl_output v4; '' before. */
  name: string;
  /** Where it sits in the layout (compositor coordinates; xdg-output's where offered). */
  x: number;
  y: number;
  /** Its current mode in pixels, turned as the output is (a portrait monitor is taller than wide). */
  width: number;
  height: number;
  scale: number;
  /** Its size in layout units (xdg-output's logical size; the pixels over the scale without it). */
  layoutWidth: number;
  layoutHeight: number;
}

/** wl_output events by opcode. */
const GEOMETRY = 0;
const MODE = 1;
const SCALE = 3;
const NAME = 4;
/** zxdg_output_v1 events by opcode. */
const XDG_LOGICAL_POSITION = 0;
const XDG_LOGICAL_SIZE = 1;
const XDG_NAME = 3;
/** wl_output.mode flags: the current mode. */
const MODE_CURRENT = 1;

/** Binds every monitor the compositor offers and reads what it says of each (one round trip). */
export function listOutputs(client: WaylandClient, timeoutMs = 2000): WaylandOutput[] {
  const xdg = client.globals.has(XDG_OUTPUT_MANAGER) ? client.bind(XDG_OUTPUT_MANAGER, 3) : undefined;
  const outputs = client.all(WL_OUTPUT).map((g) => {
    const out = {
      id: 0,
      name: '',
      x: 0,
      y: 0,
      width: 0,
      height: 0,
      scale: 1,
      transform: 0,
      layout: undefined as { x: number; y: number; w: number; h: number } | undefined,
    };
    out.id = client.bindGlobal(WL_OUTPUT, g, 4);
    client.listen(out.id, (opcode, body) => {
      if (opcode === GEOMETRY && body.length >= 24) {
        out.x = body.readInt32LE(0);
        out.y = body.readInt32LE(4);
        // x, y, physical width and height, subpixel, make, model, then the transform.
        const [, afterMake] = readString(body, 20);
        const [, afterModel] = readString(body, afterMake);
        if (body.length >= afterModel + 4) out.transform = body.readInt32LE(afterModel);
      } else if (opcode === MODE && body.length >= 12 && (body.readUInt32LE(0) & MODE_CURRENT) !== 0) {
        out.width = body.readInt32LE(4);
        out.height = body.readInt32LE(8);
      } else if (opcode === SCALE && body.length >= 4) {
        out.scale = Math.max(1, body.readInt32LE(0));
      } else if (opcode === NAME && body.length >= 4) {
        out.name = readString(body, 0)[0];
      }
    });
    if (xdg !== undefined) {
      const id = client.allocate();
      client.request(xdg, 1, [{ newId: id }, { object: out.id }]); // get_xdg_output
      const layout = { x: 0, y: 0, w: 0, h: 0 };
      out.layout = layout;
      client.listen(id, (opcode, body) => {
        if (opcode === XDG_LOGICAL_POSITION && body.length >= 8) [layout.x, layout.y] = [body.readInt32LE(0), body.readInt32LE(4)];
        else if (opcode === XDG_LOGICAL_SIZE && body.length >= 8) [layout.w, layout.h] = [body.readInt32LE(0), body.readInt32LE(4)];
        else if (opcode === XDG_NAME && body.length >= 4 && !out.name) out.name = readString(body, 0)[0];
      });
    }
    return out;
  });
  client.roundtrip(timeoutMs);
  return outputs.map(({ transform, layout, ...o }) => {
    // Transforms 1, 3, 5, 7 turn the output a quarter.
    const turned = transform % 2 === 1;
    const [width, height] = turned ? [o.height, o.width] : [o.width, o.height];
    const known = layout && layout.w > 0 && layout.h > 0 ? layout : undefined;
    return {
      ...o,
      width,
      height,
      x: known ? known.x : o.x,
      y: known ? known.y : o.y,
      layoutWidth: known ? known.w : Math.round(width / o.scale),
      layoutHeight: known ? known.h : Math.round(height / o.scale),
    };
  });
}

/**
 * The monitor a cast of `size` shows: the one output of that size in pixels, or else in layout
 * units (a scaled output); undefined with the reason when none or several match.
 */
export function outputForCast(outputs: readonly WaylandOutput[], size: { width: number; height: number }): { output?: WaylandOutput; reason?: string } {
  if (outputs.length === 1) return { output: outputs[0] };
  const byPixels = outputs.filter((o) => o.width === size.width && o.height === size.height);
  if (byPixels.length === 1) return { output: byPixels[0] };
  const byLayout = outputs.filter((o) => o.layoutWidth === size.width && o.layoutHeight === size.height);
  if (byLayout.length === 1 && byPixels.length === 0) return { output: byLayout[0] };
  const names = (list: readonly WaylandOutput[]) => list.map((o) => o.name || `#${o.id}`).join(', ');
  const matching = byPixels.length ? byPixels : byLayout;
  return {
    reason: matching.length
      ? `${matching.length} monitors (${names(matching)}) are ${size.width}x${size.height}, and the portal does not say which one is shared`
      : `no monitor (${names(outputs)}) is ${size.width}x${size.height}, the shared picture's size`,
  };
}
