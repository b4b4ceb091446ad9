/** Saves text or a blob as a file through the browser's download mechanism. */
export function download(data: string | Blob, filename: string, type: string): void {
  const url = URL.createObjectURL(typeof data === 'string' ? new Blob([data], { type }) : data);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.style.display = 'none';
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A file name made from a graph title: letters, digits, `-`, `_` and `.` only. */
export function safeFilename(title: string, extension: string): string {
  const base = title.replace(/[^\w.-]+/g, '_').replace(/^[._]+/, '') || 'graph';
  return `${base}.${extension}`;
}

/** The standalone SVG document `svg` drawn into a `width` x `height` PNG on `background`. */
export async function svgToPng(svg: string, width: number, height: number, background: string): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(width));
    canvas.height = Math.max(1, Math.round(height));
    const context = canvas.getContext('2d')!;
    context.fillStyle = background;
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob(blob => (blob ? resolve(blob) : reject(new Error('the PNG could not be made'))), 'image/png')
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}
