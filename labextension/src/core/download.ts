/** Saves text as a file through the browser's download mechanism. */
export function download(text: string, filename: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
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
