// The mask editor's keyboard: with the image focused, keys zoom, pan, pick tools, size the brush and move
// the fat line's ends; Ctrl/Cmd+Z undoes anywhere in the editor. `editor` is the small set of actions
// mask-editor.js exposes.

const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

export function bindKeys(root, stage, editor) {
  const keys = {
    '+': () => editor.zoom(2),
    '=': () => editor.zoom(2),
    '-': () => editor.zoom(0.5),
    0: () => editor.fit(),
    d: () => editor.tool('draw'),
    e: () => editor.tool('erase'),
    f: () => editor.tool('line'),
    h: () => editor.tool('pan'),
    '[': () => editor.brush(-2),
    ']': () => editor.brush(2),
    1: () => editor.selectHandle(0),
    2: () => editor.selectHandle(1),
    Escape: () => editor.deselect(),
  };
  root.addEventListener('keydown', (e) => {
    if (e.target.matches('input, select, textarea')) return;
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'z') {
      e.preventDefault();
      return editor.undo();
    }
    if (e.ctrlKey || e.metaKey || e.altKey || e.target !== stage) return;
    const arrow = ARROWS[e.key];
    const action = keys[e.key];
    if (e.key === ' ') editor.space(true);
    else if (arrow) editor.arrow(arrow[0], arrow[1], e.shiftKey);
    else if (action) action();
    else return;
    e.preventDefault();
    editor.render();
  });
  root.addEventListener('keyup', (e) => {
    if (e.key === ' ') editor.space(false);
  });
}
